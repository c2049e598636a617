//! The Databricks half of the Unity Catalog mode, in one `provision`: each owner's storage
//! credential (which returns the external ID), the role's trust rewritten with that ID, the
//! validation retried while IAM propagates, then the external locations and their grants.
//! Destroy removes only the credentials and locations whose comment carries xacct's marker.
//!
//! The role exists before the credential: aws-apply creates it with
//! [`unity::PENDING_EXTERNAL_ID`] in its trust when no credential exists yet, so nobody can assume
//! it until the real ID (Databricks' answer to the create) replaces the placeholder in this same
//! run. A credential that already exists lends its ID to the first plan, and a converged run
//! sends no write to either side (not even a validation, which is a POST).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use aws_apply::{Action, ApplyOptions, Progress, UnityTrust};
use databricks_client::{
    missing_grants, AwsIamRoleRequest, Client, CreateExternalLocation, CreateStorageCredential, EncryptionDetails,
    ExternalLocation, PrivilegeAssignment, StorageCredential, UpdateExternalLocation, UpdateStorageCredential,
    ValidateStorageCredential,
};
use policy_model::unity::{self, UnityBucket, UnityOwner};
use policy_model::{AccountId, Flow};

use crate::reconcile::DatabricksChange;
use crate::session::Session;
use crate::Error;

/// The trust each owner's role must carry, from the credentials that exist now.
pub(crate) async fn read_trust(client: &Client, flow: &Flow) -> Result<BTreeMap<AccountId, UnityTrust>, Error> {
    let mut out = BTreeMap::new();
    for owner in flow.unity_owners() {
        if let Some(credential) = client.get_storage_credential(&owner.storage_credential).await? {
            if credential.role_arn() == Some(owner.role_arn().as_str()) {
                if let Some(trust) = trust_of(&credential) {
                    out.insert(owner.account_id.clone(), trust);
                }
            }
        }
    }
    Ok(out)
}

fn trust_of(credential: &StorageCredential) -> Option<UnityTrust> {
    let role = credential.aws_iam_role.as_ref()?;
    Some(UnityTrust { external_id: role.external_id.clone()?, master_role_arn: role.unity_catalog_iam_arn.clone() })
}

fn conflict(what: String) -> Error {
    Error::UnityCatalog(what)
}

/// What provision does to the credential: create it, point it at the role, or nothing. A
/// credential someone else made is used as it is when it names the role, and refused otherwise.
fn credential_action(owner: &UnityOwner, found: Option<&StorageCredential>) -> Result<(Action, Vec<String>), Error> {
    let role = owner.role_arn();
    let Some(found) = found else { return Ok((Action::Create, vec![format!("role_arn: {role}")])) };
    if found.role_arn() == Some(role.as_str()) {
        return Ok((Action::NoOp, Vec::new()));
    }
    if !unity::is_our_comment(found.comment.as_deref()) {
        return Err(conflict(format!(
            "storage credential `{}` exists, names role `{}` instead of `{role}`, and was not made by xacct; set `storage_credential` to another name or point it at the role yourself",
            owner.storage_credential,
            found.role_arn().unwrap_or("(none)")
        )));
    }
    Ok((Action::Update, vec![format!("role_arn: {} -> {role}", found.role_arn().unwrap_or("(none)"))]))
}

fn wanted_encryption(bucket: &UnityBucket) -> Option<EncryptionDetails> {
    bucket.kms_key_arn.as_ref().map(|k| EncryptionDetails::kms(k.as_str()))
}

/// What provision does to a bucket's external location, with one line per changed field.
fn location_action(
    owner: &UnityOwner,
    bucket: &UnityBucket,
    found: Option<&ExternalLocation>,
) -> Result<(Action, Vec<String>), Error> {
    let url = bucket.url();
    let Some(found) = found else {
        return Ok((Action::Create, vec![format!("url: {url}"), format!("read_only: {}", bucket.read_only())]));
    };
    let mut detail = Vec::new();
    if found.url.trim_end_matches('/') != url.trim_end_matches('/') {
        detail.push(format!("url: {} -> {url}", found.url));
    }
    if found.credential_name != owner.storage_credential {
        detail.push(format!("credential_name: {} -> {}", found.credential_name, owner.storage_credential));
    }
    if found.read_only.unwrap_or(false) != bucket.read_only() {
        detail.push(format!("read_only: {} -> {}", found.read_only.unwrap_or(false), bucket.read_only()));
    }
    let key = |e: &Option<EncryptionDetails>| {
        e.as_ref().and_then(|e| e.sse_encryption_details.as_ref()).and_then(|s| s.aws_kms_key_arn.clone())
    };
    if key(&found.encryption_details) != key(&wanted_encryption(bucket)) && bucket.kms_key_arn.is_some() {
        detail.push(format!("encryption: SSE-KMS with {}", bucket.kms_key_arn.as_ref().map_or("", |k| k.as_str())));
    }
    if detail.is_empty() {
        return Ok((Action::NoOp, detail));
    }
    if !unity::is_our_comment(found.comment.as_deref()) {
        return Err(conflict(format!(
            "external location `{}` exists with other settings ({}) and was not made by xacct; set `external_location` to another name",
            bucket.external_location,
            detail.join(", ")
        )));
    }
    Ok((Action::Update, detail))
}

fn wanted_grants(bucket: &UnityBucket) -> Vec<PrivilegeAssignment> {
    bucket
        .grants
        .iter()
        .map(|g| PrivilegeAssignment { principal: g.principal.clone(), privileges: g.privileges.clone() })
        .collect()
}

/// The Databricks changes of the Unity Catalog owners, read without writing.
pub(crate) async fn plan(client: &Client, flow: &Flow, destroy: bool) -> Result<Vec<DatabricksChange>, Error> {
    let mut out = Vec::new();
    for owner in flow.unity_owners() {
        let credential = client.get_storage_credential(&owner.storage_credential).await?;
        let resource = format!("storage credential {}", owner.storage_credential);
        let mut locations = Vec::new();
        for bucket in &owner.buckets {
            let location = client.get_external_location(&bucket.external_location).await?;
            let resource = format!("external location {}", bucket.external_location);
            if destroy {
                out.push(match &location {
                    Some(l) if unity::is_our_comment(l.comment.as_deref()) => {
                        DatabricksChange { resource, action: Action::Delete, detail: Vec::new() }
                    }
                    Some(_) => kept(resource),
                    None => DatabricksChange { resource, action: Action::NoOp, detail: Vec::new() },
                });
                continue;
            }
            let (action, detail) = location_action(owner, bucket, location.as_ref())?;
            let grants = match &location {
                Some(_) => missing_grants(
                    &client.get_location_grants(&bucket.external_location).await?,
                    &wanted_grants(bucket),
                ),
                None => missing_grants(&[], &wanted_grants(bucket)),
            };
            locations.push(DatabricksChange { resource, action, detail });
            if !bucket.grants.is_empty() {
                let detail: Vec<String> =
                    grants.iter().map(|g| format!("grant {} to {}", g.add.join(", "), g.principal)).collect();
                let action = if detail.is_empty() { Action::NoOp } else { Action::Update };
                locations.push(DatabricksChange {
                    resource: format!("grants on external location {}", bucket.external_location),
                    action,
                    detail,
                });
            }
        }
        if destroy {
            out.push(match &credential {
                Some(c) if unity::is_our_comment(c.comment.as_deref()) => {
                    DatabricksChange { resource, action: Action::Delete, detail: Vec::new() }
                }
                Some(_) => kept(resource),
                None => DatabricksChange { resource, action: Action::NoOp, detail: Vec::new() },
            });
        } else {
            let (action, detail) = credential_action(owner, credential.as_ref())?;
            out.push(DatabricksChange { resource, action, detail });
            out.extend(locations);
        }
    }
    Ok(out)
}

fn kept(resource: String) -> DatabricksChange {
    DatabricksChange { resource, action: Action::NoOp, detail: vec!["not made by xacct: kept".to_owned()] }
}

fn report(on_progress: &Progress, resource: &str, action: Action, started: Instant) {
    on_progress(resource, action, started.elapsed());
}

/// Provision's Databricks half for the Unity Catalog owners, after the AWS plan was applied.
/// `aws_changed` holds the accounts where that plan wrote something.
pub(crate) async fn apply(
    session: &Session,
    aws_changed: &BTreeSet<AccountId>,
    on_progress: &Progress,
) -> Result<(), Error> {
    let flow = &session.config.flow;
    if flow.unity_owners().is_empty() {
        return Ok(());
    }
    let Some(client) = &session.databricks else { return Ok(()) };

    // 1. The credentials, which give the external IDs.
    let mut trust = BTreeMap::new();
    let mut fresh: BTreeSet<AccountId> = BTreeSet::new();
    for owner in flow.unity_owners() {
        let t = Instant::now();
        let resource = format!("databricks storage credential {}", owner.storage_credential);
        let found = client.get_storage_credential(&owner.storage_credential).await?;
        let (action, _) = credential_action(owner, found.as_ref())?;
        let role = AwsIamRoleRequest { role_arn: owner.role_arn() };
        let credential = match action {
            Action::Create => {
                // The trust cannot name the external ID before this answer: skip the check here
                // and validate once the trust is rewritten.
                let request = CreateStorageCredential {
                    name: owner.storage_credential.clone(),
                    aws_iam_role: role,
                    comment: Some(unity::comment(owner)),
                    read_only: None,
                    skip_validation: Some(true),
                };
                client.create_storage_credential(&request).await?
            }
            Action::Update => {
                let request = UpdateStorageCredential {
                    aws_iam_role: Some(role),
                    skip_validation: Some(true),
                    ..UpdateStorageCredential::default()
                };
                client.update_storage_credential(&owner.storage_credential, &request).await?
            }
            Action::NoOp | Action::Delete => found.unwrap_or_default(),
        };
        report(on_progress, &resource, action, t);
        if action != Action::NoOp {
            fresh.insert(owner.account_id.clone());
        }
        match trust_of(&credential) {
            Some(found) => {
                trust.insert(owner.account_id.clone(), found);
            }
            None => {
                return Err(conflict(format!(
                    "storage credential `{}` came back without `aws_iam_role.external_id`; the role's trust cannot be completed",
                    owner.storage_credential
                )))
            }
        }
    }

    // 2. The trust rewritten with the returned IDs, where a credential is new or changed.
    let mut changed = aws_changed.clone();
    if !fresh.is_empty() {
        let observed = aws_apply::observe(&session.accounts, flow).await?;
        let plan = aws_apply::plan_with(flow, &observed, &session.config.roles, &trust)?;
        if !plan.is_converged() {
            changed.extend(plan.changes.iter().filter(|c| c.action != Action::NoOp).map(|c| c.account.clone()));
            let options = ApplyOptions { on_progress: Some(on_progress.clone()), ..Default::default() };
            aws_apply::apply(&session.accounts, &plan, &options).await?;
        }
    }
    changed.extend(fresh);

    // 3. Validation where anything changed (a converged run sends none), retried while IAM
    //    propagates; then each location and its grants.
    for owner in flow.unity_owners() {
        for bucket in &owner.buckets {
            let found = client.get_external_location(&bucket.external_location).await?;
            let (action, _) = location_action(owner, bucket, found.as_ref())?;
            if changed.contains(&owner.account_id) || action != Action::NoOp {
                validate(client, owner, bucket, on_progress).await?;
            }
            let t = Instant::now();
            let resource = format!("databricks external location {}", bucket.external_location);
            match action {
                Action::Create => {
                    let request = CreateExternalLocation {
                        name: bucket.external_location.clone(),
                        url: bucket.url(),
                        credential_name: owner.storage_credential.clone(),
                        comment: Some(unity::comment(owner)),
                        read_only: Some(bucket.read_only()),
                        skip_validation: None,
                        encryption_details: wanted_encryption(bucket),
                    };
                    client.create_external_location(&request).await?;
                }
                Action::Update => {
                    let request = UpdateExternalLocation {
                        url: Some(bucket.url()),
                        credential_name: Some(owner.storage_credential.clone()),
                        read_only: Some(bucket.read_only()),
                        encryption_details: wanted_encryption(bucket),
                        ..UpdateExternalLocation::default()
                    };
                    client.update_external_location(&bucket.external_location, &request).await?;
                }
                Action::NoOp | Action::Delete => {}
            }
            report(on_progress, &resource, action, t);
            if bucket.grants.is_empty() {
                continue;
            }
            let t = Instant::now();
            let current = client.get_location_grants(&bucket.external_location).await?;
            let changes = missing_grants(&current, &wanted_grants(bucket));
            let action = if changes.is_empty() { Action::NoOp } else { Action::Update };
            if !changes.is_empty() {
                client.update_location_grants(&bucket.external_location, &changes).await?;
            }
            report(
                on_progress,
                &format!("databricks grants on external location {}", bucket.external_location),
                action,
                t,
            );
        }
    }
    Ok(())
}

async fn validate(
    client: &Client,
    owner: &UnityOwner,
    bucket: &UnityBucket,
    on_progress: &Progress,
) -> Result<(), Error> {
    let t = Instant::now();
    let request = ValidateStorageCredential {
        storage_credential_name: Some(owner.storage_credential.clone()),
        url: Some(bucket.url()),
        read_only: Some(bucket.read_only()),
        ..ValidateStorageCredential::default()
    };
    let (validation, attempts) = client.validate_until_pass(&request).await?;
    let failures = validation.failures();
    if !failures.is_empty() {
        let said: Vec<String> =
            failures.iter().map(|f| format!("{}: {}", f.operation, f.message.as_deref().unwrap_or("failed"))).collect();
        return Err(conflict(format!(
            "storage credential `{}` does not validate on `{}` after {attempts} attempts ({}); run `xacct verify` to see which link of role {} breaks",
            owner.storage_credential,
            bucket.url(),
            said.join("; "),
            owner.role_arn()
        )));
    }
    report(
        on_progress,
        &format!("databricks validation of {} on {}", owner.storage_credential, bucket.url()),
        Action::NoOp,
        t,
    );
    Ok(())
}

/// Destroy's Databricks half for the Unity Catalog owners: xacct's external locations, then
/// xacct's credentials. Anything without the marker stays.
pub(crate) async fn destroy(session: &Session, on_progress: &Progress) -> Result<(), Error> {
    let flow = &session.config.flow;
    let Some(client) = &session.databricks else { return Ok(()) };
    for owner in flow.unity_owners() {
        for bucket in &owner.buckets {
            let Some(location) = client.get_external_location(&bucket.external_location).await? else { continue };
            if !unity::is_our_comment(location.comment.as_deref()) {
                continue;
            }
            let t = Instant::now();
            client.delete_external_location(&bucket.external_location, false).await?;
            report(
                on_progress,
                &format!("databricks external location {}", bucket.external_location),
                Action::Delete,
                t,
            );
        }
        let Some(credential) = client.get_storage_credential(&owner.storage_credential).await? else { continue };
        if !unity::is_our_comment(credential.comment.as_deref()) {
            continue;
        }
        let t = Instant::now();
        client.delete_storage_credential(&owner.storage_credential, false).await?;
        report(on_progress, &format!("databricks storage credential {}", owner.storage_credential), Action::Delete, t);
    }
    Ok(())
}
