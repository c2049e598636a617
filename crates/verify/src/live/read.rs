//! Reading the deployed state: roles and their policies, the instance profile, bucket and key
//! policies, the Databricks registration and cluster. Nothing here writes.

use std::collections::BTreeMap;

use policy_model::{Flow, PolicyDocument};

use crate::state::{Bucket, Cluster, Databricks, InstanceProfile, NamedPolicy, Role, State};

use super::LiveInputs;

pub(crate) use aws_apply::accounts::describe;

/// Reads everything the chain evaluation needs, through aws-apply's read-only
/// [`observe_each`](aws_apply::observe_each): a resource whose read failed is
/// listed in `unreadable` with the reason, and its links are left unchecked.
pub(crate) async fn read_state(flow: &Flow, inputs: &LiveInputs) -> State {
    let mut state = State { scps: inputs.scps.clone(), ..State::default() };
    match &inputs.aws {
        None => {
            let why = "no AWS credentials".to_owned();
            if let Some(deployment) = flow.deployment() {
                state.unreadable.insert(deployment.instance_role_arn(), why.clone());
                state.unreadable.insert(deployment.instance_profile_arn(), why.clone());
                if let Some(x) = deployment.cross_account_role_arn() {
                    state.unreadable.insert(x, why.clone());
                }
            }
            for owner in flow.owners() {
                state.unreadable.insert(owner.role_arn(), why.clone());
                for bucket in &owner.buckets {
                    state.unreadable.insert(bucket.name.as_str().to_owned(), why.clone());
                    if let Some(key) = &bucket.kms_key_arn {
                        state.unreadable.insert(key.as_str().to_owned(), why.clone());
                    }
                }
            }
        }
        Some(accounts) => {
            let observation = aws_apply::observe_each(accounts, flow).await;
            from_observation(&mut state, observation);
        }
    }
    if let Some(client) = &inputs.databricks {
        if let Err(why) = read_unity(client, flow, &mut state).await {
            state.unreadable.insert("databricks".to_owned(), why);
        }
        match read_databricks(client, inputs.cluster_id.as_deref()).await {
            Ok(db) => state.databricks = Some(db),
            Err(why) => {
                state.databricks = Some(Databricks::default());
                state.unreadable.insert("databricks".to_owned(), why);
            }
        }
    }
    state
}

/// The chain's view of what aws-apply read: a role's inline policies, then its managed ones.
pub(crate) fn from_observation(state: &mut State, observation: aws_apply::Observation) {
    let observed = observation.observed;
    for (arn, role) in observed.roles {
        let mut policies: Vec<NamedPolicy> =
            role.inline.iter().map(|(name, doc)| NamedPolicy::inline(name, doc.clone())).collect();
        policies.extend(role.attached.iter().map(|(arn, doc)| NamedPolicy::managed(arn, doc.clone())));
        let trust = role.trust.unwrap_or_else(|| PolicyDocument::new(Vec::new()));
        let boundary = role.boundary.map(|b| (b.arn, b.document));
        state.roles.insert(arn, Role { trust, policies, boundary });
    }
    for (arn, profile) in observed.instance_profiles {
        state.instance_profiles.insert(arn, InstanceProfile { roles: profile.role_arns });
    }
    for (name, bucket) in observed.buckets {
        state.buckets.insert(name, Bucket { policy: bucket.policy, ownership: bucket.ownership });
    }
    state.keys.extend(observed.keys);
    for (resource, err) in observation.unreadable {
        state.unreadable.insert(resource, err.to_string());
    }
}

/// Each Unity Catalog owner's storage credential and, when it names the role, Unity Catalog's
/// validation of each bucket's location (a check, not a change).
async fn read_unity(client: &databricks_client::Client, flow: &Flow, state: &mut State) -> Result<(), String> {
    for owner in flow.unity_owners() {
        let name = &owner.storage_credential;
        let credential =
            client.get_storage_credential(name).await.map_err(|e| format!("storage credential `{name}`: {e}"))?;
        let mut facts = crate::unity::UnityCredential::default();
        if let Some(credential) = credential {
            let role = owner.role_arn();
            facts.found = credential.role_arn() == Some(role.as_str());
            facts.other_role = credential.role_arn().filter(|r| *r != role).map(str::to_owned);
            facts.external_id = credential.external_id().map(str::to_owned);
            facts.master_role_arn = credential.aws_iam_role.as_ref().and_then(|r| r.unity_catalog_iam_arn.clone());
            if facts.found {
                for bucket in &owner.buckets {
                    let request = databricks_client::ValidateStorageCredential {
                        storage_credential_name: Some(name.clone()),
                        url: Some(bucket.url()),
                        read_only: Some(bucket.read_only()),
                        ..Default::default()
                    };
                    let validation = client
                        .validate_storage_credential(&request)
                        .await
                        .map_err(|e| format!("validation of `{name}` on `{}`: {e}", bucket.url()))?;
                    let results = validation
                        .results
                        .into_iter()
                        .map(|r| (r.operation, r.result, r.message.unwrap_or_default()))
                        .collect();
                    facts.validations.insert(bucket.name.as_str().to_owned(), results);
                }
            }
        }
        state.unity.insert(owner.account_id.as_str().to_owned(), facts);
    }
    Ok(())
}

async fn read_databricks(client: &databricks_client::Client, cluster_id: Option<&str>) -> Result<Databricks, String> {
    let profiles = client.list_instance_profiles().await.map_err(|e| format!("instance-profiles/list: {e}"))?;
    let mut db = Databricks {
        instance_profiles: profiles.into_iter().map(|p| p.instance_profile_arn).collect(),
        ..Databricks::default()
    };
    if let Some(id) = cluster_id {
        let info = match client.get_cluster(id).await {
            Ok(info) => info,
            Err(e)
                if e.api().is_some_and(|a| a.is("RESOURCE_DOES_NOT_EXIST") || a.message.contains("does not exist")) =>
            {
                db.missing_cluster = Some(id.to_owned());
                return Ok(db);
            }
            Err(e) => return Err(format!("clusters/get `{id}`: {e}")),
        };
        let details = &info.details;
        let instance_profile_arn = details
            .get("aws_attributes")
            .and_then(|a| a.get("instance_profile_arn"))
            .and_then(|v| v.as_str())
            .map(str::to_owned);
        let spark_conf: BTreeMap<String, String> = details
            .get("spark_conf")
            .and_then(|c| c.as_object())
            .map(|c| {
                c.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        db.cluster = Some(Cluster {
            cluster_id: id.to_owned(),
            instance_profile_arn,
            spark_conf,
            state: Some(info.state.to_string()),
        });
    }
    Ok(db)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use aws_apply::memory::{MemPolicy, MemRole, Memory};
    use policy_model::{Access, AccountId, Bucket, BucketName, Deployment, Owner, RoleName};

    use super::*;

    fn flow() -> Flow {
        Flow::new(
            "us-east-1".to_owned(),
            Deployment {
                account_id: AccountId::new("111111111111").unwrap(),
                instance_role: RoleName::new("MyRoleA").unwrap(),
                cross_account_role: None,
            },
            vec![Owner {
                account_id: AccountId::new("222222222222").unwrap(),
                role: RoleName::new("MyRoleB").unwrap(),
                buckets: vec![Bucket {
                    name: BucketName::new("my-bucket").unwrap(),
                    access: Access::ReadWrite,
                    kms_key_arn: None,
                    mount: false,
                }],
            }],
        )
        .unwrap()
    }

    /// What verify evaluates is what aws-apply read: every policy of a role, a managed one at its
    /// default version (here v2, which GetPolicy does not name), and what could not be read.
    #[tokio::test]
    async fn the_state_is_what_the_access_layer_read() {
        let flow = flow();
        let a = flow.deployment().unwrap().account_id.clone();
        // Account B has no clients: its role and bucket are unreadable.
        let memory = Memory::new([&a]);
        let arn = "arn:aws:iam::111111111111:policy/extra";
        memory.edit(&a, |acct| {
            let versions = BTreeMap::from([
                ("v1".to_owned(), r#"{"Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#.to_owned()),
                ("v2".to_owned(), r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#.to_owned()),
            ]);
            acct.policies.insert(
                arn.to_owned(),
                MemPolicy { versions, default_version: None, listed_default: Some("v2".to_owned()) },
            );
            let inline = BTreeMap::from([("own".to_owned(), r#"{"Statement":[]}"#.to_owned())]);
            let trust = r#"{"Statement":[]}"#.to_owned();
            acct.roles.insert(
                "MyRoleA".to_owned(),
                MemRole { trust, inline, attached: vec![arn.to_owned()], ..MemRole::default() },
            );
        });
        let mut state = State::default();
        from_observation(&mut state, aws_apply::observe_each(&memory, &flow).await);
        let role = &state.roles[&flow.deployment().unwrap().instance_role_arn()];
        let names: Vec<(&str, String)> =
            role.policies.iter().map(|p| (p.name.as_str(), p.document.to_json())).collect();
        assert_eq!(
            names,
            [
                ("inline policy own", r#"{"Statement":[]}"#.to_owned()),
                (
                    "managed policy arn:aws:iam::111111111111:policy/extra",
                    r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#.to_owned()
                ),
            ]
        );
        let unreadable: Vec<&str> = state.unreadable.keys().map(String::as_str).collect();
        assert_eq!(unreadable, ["arn:aws:iam::222222222222:role/MyRoleB", "my-bucket"]);
        assert!(state.unreadable["my-bucket"].contains("no AWS clients for account `222222222222`"));
    }
}
