//! The Unity Catalog links: for each owner in that mode, the master role's `sts:AssumeRole` with
//! the external ID (`uc-trust`), the role assuming itself (`uc-self-assume`), every bucket action
//! of the access level (`uc-bucket`) and the key (`uc-kms`), evaluated on the documents of the
//! [`State`]; live, also the storage credential (`uc-credential`) and Unity Catalog's own
//! validation, one link per operation (`uc-validate:<bucket>:<operation>`).
//!
//! Offline the external ID is not known (Databricks assigns it), so the documents are built and
//! asked with the same stand-in value, [`OFFLINE_EXTERNAL_ID`].

use std::collections::BTreeMap;

use policy_model::chain::{link as ids, LinkRequest};
use policy_model::eval::{self, CompiledPolicy, Outcome, PolicySet, Request};
use policy_model::unity::{self, UnityBucket, UnityOwner};
use policy_model::{Flow, PolicyDocument, Principal};

use crate::report::Link;
use crate::state::{default_key_policy, NamedPolicy, OfflineInputs, Role, State};

/// The external ID offline checks build and ask with.
pub const OFFLINE_EXTERNAL_ID: &str = "<the external ID of the storage credential>";

/// What Databricks says of one owner's storage credential, read live.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UnityCredential {
    /// Whether the credential exists and names the owner's role.
    pub found: bool,
    /// What it names instead, when it names another role.
    pub other_role: Option<String>,
    /// `aws_iam_role.external_id`.
    pub external_id: Option<String>,
    /// `aws_iam_role.unity_catalog_iam_arn`.
    pub master_role_arn: Option<String>,
    /// Per bucket name, the validation results `(operation, result, message)`.
    pub validations: BTreeMap<String, Vec<(String, String, String)>>,
}

/// The documents provision writes for the Unity Catalog owners, as offline input.
pub(crate) fn add_offline(flow: &Flow, inputs: &OfflineInputs, state: &mut State) {
    for owner in flow.unity_owners() {
        let arn = owner.role_arn();
        let mut policies = inputs.role_policies.get(&arn).cloned().unwrap_or_default();
        policies.retain(|p| p.name != format!("inline policy {}", unity::PERMISSION_POLICY_NAME));
        policies.push(NamedPolicy::inline(unity::PERMISSION_POLICY_NAME, unity::permission_policy(owner)));
        let trust = unity::trust_policy(owner, flow.uc_master_role_arn(), Some(OFFLINE_EXTERNAL_ID));
        state.roles.insert(arn, Role { trust, policies, boundary: None });
        for bucket in &owner.buckets {
            let policy = inputs.bucket_policies.get(bucket.name.as_str()).cloned();
            state
                .buckets
                .entry(bucket.name.as_str().to_owned())
                .or_insert(crate::state::Bucket { policy, ownership: None });
        }
        let facts = UnityCredential {
            found: true,
            external_id: Some(OFFLINE_EXTERNAL_ID.to_owned()),
            master_role_arn: Some(flow.uc_master_role_arn().to_owned()),
            ..UnityCredential::default()
        };
        state.unity.insert(owner.account_id.as_str().to_owned(), facts);
    }
}

/// Every Unity Catalog link of the flow on `state`, in report order.
pub(crate) fn links(flow: &Flow, state: &State, live: bool) -> Vec<Link> {
    let mut out = Vec::new();
    for owner in flow.unity_owners() {
        let facts = state.unity.get(owner.account_id.as_str());
        let arn = owner.role_arn();
        if live {
            out.push(credential_link(owner, facts, state));
        }
        let external_id = facts.and_then(|f| f.external_id.clone());
        let master =
            facts.and_then(|f| f.master_role_arn.clone()).unwrap_or_else(|| flow.uc_master_role_arn().to_owned());
        let role = match (state.unreadable.get(&arn), state.roles.get(&arn)) {
            (Some(why), _) => Err(format!("role {arn} could not be read: {why}")),
            (None, None) => Err(format!("role {arn} does not exist in account {}", owner.account_id)),
            (None, Some(role)) => Ok(role),
        };
        out.push(trust_link(owner, &master, external_id.as_deref(), &role));
        out.push(self_link(owner, external_id.as_deref(), &role));
        for bucket in &owner.buckets {
            out.push(bucket_link(owner, bucket, &role, state));
            if bucket.kms_key_arn.is_some() {
                out.push(kms_link(owner, bucket, &role, state));
            }
            if live {
                out.extend(validation_links(owner, bucket, facts));
            }
        }
    }
    out
}

fn credential_link(owner: &UnityOwner, facts: Option<&UnityCredential>, state: &State) -> Link {
    let link = Link::new(
        ids::uc_credential(&owner.account_id),
        "Databricks workspace",
        owner.role_arn(),
        format!("storage credential {}", owner.storage_credential),
    );
    if let Some(why) = state.unreadable.get("databricks") {
        return link.unchecked(why.clone());
    }
    match facts {
        None => link.skip("no [databricks] section in the config", None),
        Some(f) if f.found => link.pass(vec![format!(
            "storage credential {} names {} with external ID {}",
            owner.storage_credential,
            owner.role_arn(),
            f.external_id.as_deref().unwrap_or("(none)")
        )]),
        Some(f) => match &f.other_role {
            Some(other) => link.fail(
                vec![format!(
                    "storage credential {} names {other}, not {}",
                    owner.storage_credential,
                    owner.role_arn()
                )],
                format!(
                    "point storage credential {} at {} (`xacct provision` does for its own)",
                    owner.storage_credential,
                    owner.role_arn()
                ),
            ),
            None => link.fail(
                vec![format!("no storage credential {} in the workspace", owner.storage_credential)],
                "run `xacct provision` to create it",
            ),
        },
    }
}

fn json(statement: &policy_model::Statement) -> String {
    serde_json::to_string(statement).unwrap_or_default()
}

/// An identity policy that allows every `sts:AssumeRole`, to let one side of a link decide.
fn any_assume() -> PolicyDocument {
    PolicyDocument::new(vec![policy_model::Statement::allow("AnyAssumeRole")
        .with_action("sts:AssumeRole")
        .with_resource("*".to_owned())])
}

fn prepare(r: &LinkRequest) -> Result<Request, String> {
    Request::new(&r.principal, r.action, &r.resource, Some(r.resource_account.as_str()), r.context.clone())
        .map_err(|e| e.to_string())
}

fn compile(doc: &PolicyDocument, label: String) -> Result<CompiledPolicy, String> {
    CompiledPolicy::compile(doc).map(|c| c.labeled(label)).map_err(|e| e.to_string())
}

fn identities(role: &Role, arn: &str) -> Result<Vec<CompiledPolicy>, String> {
    role.policies.iter().map(|p| compile(&p.document, format!("{arn} {}", p.name))).collect()
}

/// The decision and the statements that decided it, for the evidence.
fn decide(req: &Request, set: &PolicySet<'_>) -> (Outcome, Vec<String>, Vec<String>) {
    let d = eval::evaluate(req, set);
    let denies = d.matched.iter().filter(|m| m.effect == eval::Effect::Deny).map(ToString::to_string).collect();
    (d.decision, d.matched.iter().map(ToString::to_string).collect(), denies)
}

fn trust_principals(trust: &PolicyDocument) -> Vec<String> {
    trust
        .statement
        .iter()
        .filter(|s| s.effect == "Allow")
        .filter_map(|s| match &s.principal {
            Some(Principal::Map(map)) => map.get("AWS").map(|v| v.iter().cloned().collect::<Vec<_>>()),
            _ => None,
        })
        .flatten()
        .collect()
}

fn trust_link(owner: &UnityOwner, master: &str, external_id: Option<&str>, role: &Result<&Role, String>) -> Link {
    let arn = owner.role_arn();
    let link =
        Link::new(ids::uc_trust(&owner.account_id), master, &arn, "sts:AssumeRole with sts:ExternalId (trust policy)");
    let role = match role {
        Ok(role) => role,
        Err(why) => return link.fail(vec![why.clone()], "run `xacct provision` to create the role"),
    };
    let Some(external_id) = external_id else {
        return link.fail(
            vec!["the storage credential has no external ID to check the trust against".to_owned()],
            "run `xacct provision`: it creates the credential and writes its external ID into the trust",
        );
    };
    let wanted = unity::master_assume_request(owner, master, external_id);
    let (req, trust) = match (prepare(&wanted), compile(&role.trust, format!("{arn} trust policy"))) {
        (Ok(r), Ok(t)) => (r, t),
        (Err(e), _) | (_, Err(e)) => return link.unchecked(e),
    };
    // The master role is in Databricks' account: its own policy is taken to allow the call, so
    // the trust alone decides.
    let master_policy = match compile(&any_assume(), "the master role's own policy (assumed)".to_owned()) {
        Ok(p) => p,
        Err(e) => return link.unchecked(e),
    };
    let set = PolicySet { identity: vec![&master_policy], resource: Some(&trust), ..PolicySet::default() };
    let (outcome, refs, denies) = decide(&req, &set);
    if outcome == Outcome::Allowed {
        return link.pass(refs);
    }
    let fix_statement = unity::trust_policy(owner, master, Some(external_id)).statement.into_iter().next();
    let add = format!(
        "in account {}, set the trust policy of {arn} to allow {master} with StringEquals sts:ExternalId `{external_id}` (`xacct provision` does): {}",
        owner.account_id,
        fix_statement.map(|s| json(&s)).unwrap_or_default()
    );
    let principals = trust_principals(&role.trust);
    let mut evidence =
        vec![format!("the trust policy of {arn} does not let {master} assume it with external ID {external_id}")];
    if !denies.is_empty() {
        evidence.push(format!("denied by {}", denies.join(", ")));
        return link.fail(evidence, format!("remove or narrow {} in the trust policy of {arn}", denies.join(", ")));
    }
    if !principals.iter().any(|p| p == master) {
        evidence
            .push(format!("the trust names {} but not Unity Catalog's master role {master}", principals.join(", ")));
        return link.fail(evidence, add);
    }
    if let Some(found) = unity::trust_external_id(&role.trust).filter(|f| f != external_id) {
        evidence
            .push(format!("the trust requires external ID `{found}`, the storage credential sends `{external_id}`"));
        return link.fail(evidence, add);
    }
    link.fail(evidence, add)
}

fn self_link(owner: &UnityOwner, external_id: Option<&str>, role: &Result<&Role, String>) -> Link {
    let arn = owner.role_arn();
    let link = Link::new(
        ids::uc_self_assume(&owner.account_id),
        &arn,
        &arn,
        "sts:AssumeRole on itself (Unity Catalog requires it)",
    );
    let role = match role {
        Ok(role) => role,
        Err(why) => return link.fail(vec![why.clone()], "run `xacct provision` to create the role"),
    };
    let external_id = external_id.unwrap_or(OFFLINE_EXTERNAL_ID);
    let wanted = unity::self_assume_request(owner, external_id);
    let compiled = (prepare(&wanted), compile(&role.trust, format!("{arn} trust policy")), identities(role, &arn));
    let (req, trust, identity) = match compiled {
        (Ok(r), Ok(t), Ok(i)) => (r, t, i),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return link.unchecked(e),
    };
    let set = PolicySet { identity: identity.iter().collect(), resource: Some(&trust), ..PolicySet::default() };
    let (outcome, refs, _) = decide(&req, &set);
    if outcome == Outcome::Allowed {
        return link.pass(refs);
    }
    let statement = unity::trust_policy(owner, "-", Some(external_id)).statement.into_iter().nth(1);
    // Whether the trust lets the role in when its own policies would: then the identity side fails.
    let any = match compile(&any_assume(), "any identity policy".to_owned()) {
        Ok(p) => p,
        Err(e) => return link.unchecked(e),
    };
    let trust_side = PolicySet { identity: vec![&any], resource: Some(&trust), ..PolicySet::default() };
    if decide(&req, &trust_side).0 != Outcome::Allowed {
        return link.fail(
            vec![format!(
                "the trust policy of {arn} does not let the role assume itself with external ID {external_id}"
            )],
            format!(
                "add to the trust policy of {arn} in account {} (`xacct provision` does): {}",
                owner.account_id,
                statement.map(|s| json(&s)).unwrap_or_default()
            ),
        );
    }
    link.fail(
        vec![format!("no identity policy of {arn} allows sts:AssumeRole on {arn}")],
        format!(
            "add to the inline policy {} of {arn}: sts:AssumeRole on {arn} (`xacct provision` does)",
            unity::PERMISSION_POLICY_NAME
        ),
    )
}

fn bucket_link(owner: &UnityOwner, bucket: &UnityBucket, role: &Result<&Role, String>, state: &State) -> Link {
    let arn = owner.role_arn();
    let actions: Vec<&str> = unity::bucket_level_actions(bucket.access)
        .iter()
        .chain(unity::object_actions(bucket.access))
        .copied()
        .collect();
    let link = Link::new(ids::uc_bucket(&bucket.name), &arn, bucket.url(), actions.join(", "));
    let role = match role {
        Ok(role) => role,
        Err(why) => return link.fail(vec![why.clone()], "run `xacct provision` to create the role"),
    };
    let name = bucket.name.as_str();
    if let Some(why) = state.unreadable.get(name) {
        return link.unchecked(format!("bucket {name} could not be read: {why}"));
    }
    let policy = match state
        .buckets
        .get(name)
        .and_then(|b| b.policy.as_ref())
        .map(|p| compile(p, format!("bucket policy of {name}")))
    {
        Some(Ok(p)) => Some(p),
        Some(Err(e)) => return link.unchecked(e),
        None => None,
    };
    let identity = match identities(role, &arn) {
        Ok(i) => i,
        Err(e) => return link.unchecked(e),
    };
    let set = PolicySet { identity: identity.iter().collect(), resource: policy.as_ref(), ..PolicySet::default() };
    let mut evidence = Vec::new();
    let mut refused = Vec::new();
    let mut denies = Vec::new();
    for wanted in unity::bucket_requests(owner, bucket) {
        let req = match prepare(&wanted) {
            Ok(r) => r,
            Err(e) => return link.unchecked(e),
        };
        let (outcome, refs, deny) = decide(&req, &set);
        if outcome == Outcome::Allowed {
            evidence.extend(refs.into_iter().take(1).map(|r| format!("{}: {r}", wanted.action)));
        } else {
            refused.push(wanted.action);
            denies.extend(deny);
        }
    }
    if refused.is_empty() {
        return link.pass(evidence);
    }
    denies.sort();
    denies.dedup();
    let evidence = vec![format!("{} refused to {arn} on {}", refused.join(", "), bucket.url())];
    if !denies.is_empty() {
        return link.fail(
            [evidence, vec![format!("denied by {}", denies.join(", "))]].concat(),
            format!(
                "edit the bucket policy of {name} in account {}: {} denies {arn}; narrow it or exempt the role (xacct never edits statements it did not write)",
                owner.account_id,
                denies.join(" and ")
            ),
        );
    }
    link.fail(
        evidence,
        format!(
            "put the inline policy {} on {arn} (`xacct provision` does): {}",
            unity::PERMISSION_POLICY_NAME,
            unity::permission_policy(owner).to_json()
        ),
    )
}

fn kms_link(owner: &UnityOwner, bucket: &UnityBucket, role: &Result<&Role, String>, state: &State) -> Link {
    let arn = owner.role_arn();
    let key = bucket.kms_key_arn.as_ref().map_or(String::new(), |k| k.as_str().to_owned());
    let link =
        Link::new(ids::uc_kms(&bucket.name), &arn, &key, policy_model::chain::kms_actions(bucket.access).join(", "));
    let role = match role {
        Ok(role) => role,
        Err(why) => return link.fail(vec![why.clone()], "run `xacct provision` to create the role"),
    };
    if let Some(why) = state.unreadable.get(&key) {
        return link.unchecked(format!("key {key} could not be read: {why}"));
    }
    let key_policy = state.keys.get(&key).cloned().unwrap_or_else(|| default_key_policy(owner.account_id.as_str()));
    let (key_policy, identity) = match (compile(&key_policy, format!("key policy of {key}")), identities(role, &arn)) {
        (Ok(k), Ok(i)) => (k, i),
        (Err(e), _) | (_, Err(e)) => return link.unchecked(e),
    };
    let set = PolicySet { identity: identity.iter().collect(), resource: Some(&key_policy), ..PolicySet::default() };
    let mut refused = Vec::new();
    let mut evidence = Vec::new();
    for wanted in unity::kms_requests(owner, bucket) {
        let req = match prepare(&wanted) {
            Ok(r) => r,
            Err(e) => return link.unchecked(e),
        };
        let (outcome, refs, _) = decide(&req, &set);
        if outcome == Outcome::Allowed {
            evidence.extend(refs.into_iter().take(1));
        } else {
            refused.push(wanted.action);
        }
    }
    if refused.is_empty() {
        return link.pass(evidence);
    }
    link.fail(
        vec![format!("{} on {key} refused to {arn}", refused.join(", "))],
        format!("allow {arn} to use {key}: the key policy must delegate to IAM (the account root) or name the role, and the inline policy {} must allow it (`xacct provision` writes the latter)", unity::PERMISSION_POLICY_NAME),
    )
}

fn validation_links(owner: &UnityOwner, bucket: &UnityBucket, facts: Option<&UnityCredential>) -> Vec<Link> {
    let Some(results) = facts.and_then(|f| f.validations.get(bucket.name.as_str())) else { return Vec::new() };
    results
        .iter()
        .map(|(operation, result, message)| {
            let link = Link::new(
                ids::uc_validation(&bucket.name, operation),
                format!("storage credential {}", owner.storage_credential),
                bucket.url(),
                format!("Unity Catalog validation: {operation}"),
            );
            match result.as_str() {
                "PASS" => link.pass(vec![format!("Unity Catalog validated {operation} on {}", bucket.url())]),
                "SKIP" => link.skip(format!("Unity Catalog skipped {operation} (the location is read-only)"), None),
                _ => link.fail(
                    vec![format!("Unity Catalog: {operation} failed: {message}")],
                    format!(
                        "see the uc-trust, uc-self-assume and uc-bucket links of {}; right after a trust change IAM may still be propagating: run verify again in a minute",
                        owner.role_arn()
                    ),
                ),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use policy_model::unity::Grant;
    use policy_model::{Access, AccountId, BucketName, FlowParts, KmsKeyArn, OwnerEntry, RoleName, Statement};

    use super::*;

    const C: &str = "333333333333";

    fn flow() -> Flow {
        let owner = UnityOwner {
            account_id: AccountId::new(C).unwrap(),
            role: RoleName::new("uc-lake-access").unwrap(),
            storage_credential: "uc_lake_access".to_owned(),
            buckets: vec![UnityBucket {
                name: BucketName::new("curated-lake").unwrap(),
                access: Access::ReadWrite,
                kms_key_arn: Some(KmsKeyArn::new(&format!("arn:aws:kms:us-east-1:{C}:key/k")).unwrap()),
                external_location: "curated_lake".to_owned(),
                prefix: "tables/".to_owned(),
                grants: vec![Grant { principal: "eng".to_owned(), privileges: vec!["READ_FILES".to_owned()] }],
            }],
        };
        Flow::build(FlowParts {
            region: "us-east-1".to_owned(),
            deployment: None,
            owners: vec![OwnerEntry::UnityCatalog(owner)],
            uc_master_role_arn: None,
        })
        .unwrap()
    }

    fn healthy(flow: &Flow) -> State {
        let mut state = State::default();
        add_offline(flow, &OfflineInputs::default(), &mut state);
        state
    }

    /// `id status` per link, and the fix of each failing link.
    #[track_caller]
    fn check(state: &State, live: bool, expect: expect_test::Expect) {
        let text: String = links(&flow(), state, live)
            .iter()
            .map(|l| match &l.fix {
                Some(fix) if l.status == crate::Status::Fail => {
                    format!("{} {}\n  {}\n  fix: {fix}\n", l.id, l.status, l.evidence.join("; "))
                }
                _ => format!("{} {}\n", l.id, l.status),
            })
            .collect();
        expect.assert_eq(&text);
    }

    fn role_arn() -> String {
        format!("arn:aws:iam::{C}:role/uc-lake-access")
    }

    #[test]
    fn healthy_offline_passes_every_link() {
        check(
            &healthy(&flow()),
            false,
            expect_test::expect![[r#"
                uc-trust:333333333333 pass
                uc-self-assume:333333333333 pass
                uc-bucket:curated-lake pass
                uc-kms:curated-lake pass
            "#]],
        );
    }

    #[test]
    fn each_breakage_fails_its_own_link() {
        let flow = flow();
        // A trust without the self-assume statement.
        let mut state = healthy(&flow);
        state.roles.get_mut(&role_arn()).unwrap().trust.statement.truncate(1);
        check(
            &state,
            false,
            expect_test::expect![[r#"
                uc-trust:333333333333 pass
                uc-self-assume:333333333333 fail
                  the trust policy of arn:aws:iam::333333333333:role/uc-lake-access does not let the role assume itself with external ID <the external ID of the storage credential>
                  fix: add to the trust policy of arn:aws:iam::333333333333:role/uc-lake-access in account 333333333333 (`xacct provision` does): {"Sid":"XacctUcSelfAssumeuclakeaccessb10cd783","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::333333333333:root"]},"Action":"sts:AssumeRole","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::333333333333:role/uc-lake-access"},"StringEquals":{"sts:ExternalId":"<the external ID of the storage credential>"}}}
                uc-bucket:curated-lake pass
                uc-kms:curated-lake pass
            "#]],
        );
        // The credential's external ID is not the one the trust requires.
        let mut state = healthy(&flow);
        state.unity.get_mut(C).unwrap().external_id = Some("the-real-id".to_owned());
        check(
            &state,
            false,
            expect_test::expect![[r#"
                uc-trust:333333333333 fail
                  the trust policy of arn:aws:iam::333333333333:role/uc-lake-access does not let arn:aws:iam::414351767826:role/unity-catalog-prod-UCMasterRole-14S5ZJVKOTYTL assume it with external ID the-real-id; the trust requires external ID `<the external ID of the storage credential>`, the storage credential sends `the-real-id`
                  fix: in account 333333333333, set the trust policy of arn:aws:iam::333333333333:role/uc-lake-access to allow arn:aws:iam::414351767826:role/unity-catalog-prod-UCMasterRole-14S5ZJVKOTYTL with StringEquals sts:ExternalId `the-real-id` (`xacct provision` does): {"Sid":"XacctUcMasterRoleuclakeaccessce559a61","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::414351767826:role/unity-catalog-prod-UCMasterRole-14S5ZJVKOTYTL"]},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"the-real-id"}}}
                uc-self-assume:333333333333 fail
                  the trust policy of arn:aws:iam::333333333333:role/uc-lake-access does not let the role assume itself with external ID the-real-id
                  fix: add to the trust policy of arn:aws:iam::333333333333:role/uc-lake-access in account 333333333333 (`xacct provision` does): {"Sid":"XacctUcSelfAssumeuclakeaccessb10cd783","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::333333333333:root"]},"Action":"sts:AssumeRole","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::333333333333:role/uc-lake-access"},"StringEquals":{"sts:ExternalId":"the-real-id"}}}
                uc-bucket:curated-lake pass
                uc-kms:curated-lake pass
            "#]],
        );
        // The trust names another master role.
        let mut state = healthy(&flow);
        let owner = &flow.unity_owners()[0];
        state.roles.get_mut(&role_arn()).unwrap().trust =
            unity::trust_policy(owner, "arn:aws:iam::999999999999:role/other-master", Some(OFFLINE_EXTERNAL_ID));
        check(
            &state,
            false,
            expect_test::expect![[r#"
                uc-trust:333333333333 fail
                  the trust policy of arn:aws:iam::333333333333:role/uc-lake-access does not let arn:aws:iam::414351767826:role/unity-catalog-prod-UCMasterRole-14S5ZJVKOTYTL assume it with external ID <the external ID of the storage credential>; the trust names arn:aws:iam::999999999999:role/other-master, arn:aws:iam::333333333333:root but not Unity Catalog's master role arn:aws:iam::414351767826:role/unity-catalog-prod-UCMasterRole-14S5ZJVKOTYTL
                  fix: in account 333333333333, set the trust policy of arn:aws:iam::333333333333:role/uc-lake-access to allow arn:aws:iam::414351767826:role/unity-catalog-prod-UCMasterRole-14S5ZJVKOTYTL with StringEquals sts:ExternalId `<the external ID of the storage credential>` (`xacct provision` does): {"Sid":"XacctUcMasterRoleuclakeaccessce559a61","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::414351767826:role/unity-catalog-prod-UCMasterRole-14S5ZJVKOTYTL"]},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"<the external ID of the storage credential>"}}}
                uc-self-assume:333333333333 pass
                uc-bucket:curated-lake pass
                uc-kms:curated-lake pass
            "#]],
        );
        // A bucket policy that denies the role.
        let mut state = healthy(&flow);
        let mut deny = Statement::allow("NoWrites")
            .with_principal(Principal::aws(vec![role_arn()]))
            .with_action("s3:PutObject")
            .with_resource("arn:aws:s3:::curated-lake/*".to_owned());
        deny.effect = "Deny".to_owned();
        state.buckets.get_mut("curated-lake").unwrap().policy = Some(PolicyDocument::new(vec![deny]));
        check(
            &state,
            false,
            expect_test::expect![[r#"
                uc-trust:333333333333 pass
                uc-self-assume:333333333333 pass
                uc-bucket:curated-lake fail
                  s3:PutObject refused to arn:aws:iam::333333333333:role/uc-lake-access on s3://curated-lake/tables/; denied by Deny statement `NoWrites` (resource) of bucket policy of curated-lake
                  fix: edit the bucket policy of curated-lake in account 333333333333: Deny statement `NoWrites` (resource) of bucket policy of curated-lake denies arn:aws:iam::333333333333:role/uc-lake-access; narrow it or exempt the role (xacct never edits statements it did not write)
                uc-kms:curated-lake pass
            "#]],
        );
    }

    #[test]
    fn live_links_show_the_credential_and_each_validation() {
        let flow = flow();
        let mut state = healthy(&flow);
        let facts = state.unity.get_mut(C).unwrap();
        facts.validations.insert(
            "curated-lake".to_owned(),
            vec![
                ("READ".to_owned(), "PASS".to_owned(), String::new()),
                ("WRITE".to_owned(), "FAIL".to_owned(), "AWS IAM role does not have WRITE permissions".to_owned()),
                ("PATH_EXISTS".to_owned(), "SKIP".to_owned(), String::new()),
            ],
        );
        check(
            &state,
            true,
            expect_test::expect![[r#"
                uc-credential:333333333333 pass
                uc-trust:333333333333 pass
                uc-self-assume:333333333333 pass
                uc-bucket:curated-lake pass
                uc-kms:curated-lake pass
                uc-validate:curated-lake:READ pass
                uc-validate:curated-lake:WRITE fail
                  Unity Catalog: WRITE failed: AWS IAM role does not have WRITE permissions
                  fix: see the uc-trust, uc-self-assume and uc-bucket links of arn:aws:iam::333333333333:role/uc-lake-access; right after a trust change IAM may still be propagating: run verify again in a minute
                uc-validate:curated-lake:PATH_EXISTS skipped
            "#]],
        );
        let mut missing = healthy(&flow);
        missing.unity.insert(C.to_owned(), UnityCredential::default());
        let got = links(&flow, &missing, true);
        assert_eq!(got[0].status, crate::Status::Fail);
        assert_eq!(got[1].status, crate::Status::Fail, "no external ID to check the trust against");
    }
}
