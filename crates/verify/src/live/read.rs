//! Reading the deployed state: roles and their policies, the instance profile, bucket and key
//! policies, the Databricks registration and cluster. Nothing here writes.

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata};
use policy_model::{Flow, PolicyDocument};

use crate::state::{Bucket, Cluster, Databricks, InstanceProfile, NamedPolicy, Role, State};

use super::LiveInputs;

/// A read that found nothing (`Ok(None)`) or failed for another reason (`Err`, with the text).
type Read<T> = Result<Option<T>, String>;

/// The error's code and context, in one line.
pub(crate) fn describe<E>(err: &E) -> String
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
{
    let text = DisplayErrorContext(err).to_string();
    match err.code() {
        Some(code) if !text.contains(code) => format!("{code}: {text}"),
        _ => text,
    }
}

/// IAM returns documents URL-encoded (RFC 3986); S3 and KMS return them as they are.
pub(crate) fn decode_document(text: &str) -> Result<PolicyDocument, String> {
    PolicyDocument::from_api_text(text).map_err(|e| format!("the document does not parse: {e}"))
}

/// An S3 client for a config: path-style addressing when the endpoint is not AWS's (the emulator).
pub(crate) fn s3_client(
    config: &SdkConfig,
    interceptors: &[aws_sdk_s3::config::SharedInterceptor],
) -> aws_sdk_s3::Client {
    let mut builder = aws_sdk_s3::config::Builder::from(config);
    if config.endpoint_url().is_some() {
        builder = builder.force_path_style(true);
    }
    for interceptor in interceptors {
        builder.push_interceptor(interceptor.clone());
    }
    aws_sdk_s3::Client::from_conf(builder.build())
}

/// Reads everything the chain evaluation needs.
pub(crate) async fn read_state(flow: &Flow, inputs: &LiveInputs) -> State {
    let mut state = State { scps: inputs.scps.clone(), ..State::default() };
    let deployment = flow.deployment();
    let a = &deployment.account_id;
    match inputs.aws.get(a) {
        None => {
            let why = format!("no AWS credentials for account {a}");
            state.unreadable.insert(deployment.instance_role_arn(), why.clone());
            state.unreadable.insert(deployment.instance_profile_arn(), why.clone());
            if let Some(x) = deployment.cross_account_role_arn() {
                state.unreadable.insert(x, why);
            }
        }
        Some(config) => {
            let iam = aws_sdk_iam::Client::new(config);
            let mut roles = vec![(deployment.instance_role.as_str().to_owned(), deployment.instance_role_arn())];
            if let (Some(name), Some(arn)) = (&deployment.cross_account_role, deployment.cross_account_role_arn()) {
                roles.push((name.as_str().to_owned(), arn));
            }
            for (name, arn) in roles {
                match read_role(&iam, &name).await {
                    Ok(Some(role)) => {
                        state.roles.insert(arn, role);
                    }
                    Ok(None) => {}
                    Err(why) => {
                        state.unreadable.insert(arn, why);
                    }
                }
            }
            let profile = deployment.instance_profile_arn();
            match read_instance_profile(&iam, deployment.instance_role.as_str()).await {
                Ok(Some(p)) => {
                    state.instance_profiles.insert(profile, p);
                }
                Ok(None) => {}
                Err(why) => {
                    state.unreadable.insert(profile, why);
                }
            }
        }
    }
    for owner in flow.owners() {
        let b = &owner.account_id;
        let Some(config) = inputs.aws.get(b) else {
            let why = format!("no AWS credentials for account {b}");
            state.unreadable.insert(owner.role_arn(), why.clone());
            for bucket in &owner.buckets {
                state.unreadable.insert(bucket.name.as_str().to_owned(), why.clone());
                if let Some(key) = bucket.kms_key_arn.as_ref().map(|k| k.as_str().to_owned()) {
                    state.unreadable.insert(key.clone(), why.clone());
                }
            }
            continue;
        };
        let iam = aws_sdk_iam::Client::new(config);
        match read_role(&iam, owner.role.as_str()).await {
            Ok(Some(role)) => {
                state.roles.insert(owner.role_arn(), role);
            }
            Ok(None) => {}
            Err(why) => {
                state.unreadable.insert(owner.role_arn(), why);
            }
        }
        let s3 = s3_client(config, &[]);
        let kms = aws_sdk_kms::Client::new(config);
        for bucket in &owner.buckets {
            let name = bucket.name.as_str();
            match read_bucket(&s3, name).await {
                Ok(Some(b)) => {
                    state.buckets.insert(name.to_owned(), b);
                }
                Ok(None) => {}
                Err(why) => {
                    state.unreadable.insert(name.to_owned(), why);
                }
            }
            if let Some(key) = bucket.kms_key_arn.as_ref().map(|k| k.as_str().to_owned()) {
                if state.keys.contains_key(&key) {
                    continue;
                }
                match read_key_policy(&kms, &key).await {
                    Ok(Some(doc)) => {
                        state.keys.insert(key.clone(), doc);
                    }
                    Ok(None) => {}
                    Err(why) => {
                        state.unreadable.insert(key.clone(), why);
                    }
                }
            }
        }
    }
    if let Some(client) = &inputs.databricks {
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

async fn read_role(iam: &aws_sdk_iam::Client, name: &str) -> Read<Role> {
    let role = match iam.get_role().role_name(name).send().await {
        Ok(out) => out.role,
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_entity_exception()) => return Ok(None),
        Err(e) => return Err(format!("GetRole `{name}`: {}", describe(&e))),
    };
    let Some(role) = role else { return Ok(None) };
    let trust = match role.assume_role_policy_document() {
        Some(text) => decode_document(text).map_err(|e| format!("the trust policy of role `{name}`: {e}"))?,
        None => PolicyDocument::new(Vec::new()),
    };
    let mut policies = Vec::new();

    let mut marker: Option<String> = None;
    loop {
        let out = iam
            .list_role_policies()
            .role_name(name)
            .set_marker(marker.clone())
            .send()
            .await
            .map_err(|e| format!("ListRolePolicies `{name}`: {}", describe(&e)))?;
        for policy in out.policy_names() {
            let got = iam
                .get_role_policy()
                .role_name(name)
                .policy_name(policy)
                .send()
                .await
                .map_err(|e| format!("GetRolePolicy `{name}` `{policy}`: {}", describe(&e)))?;
            let doc = decode_document(got.policy_document())
                .map_err(|e| format!("inline policy `{policy}` of role `{name}`: {e}"))?;
            policies.push(NamedPolicy::inline(policy, doc));
        }
        match (out.is_truncated, out.marker) {
            (true, Some(next)) => marker = Some(next),
            _ => break,
        }
    }

    let mut marker: Option<String> = None;
    loop {
        let out = iam
            .list_attached_role_policies()
            .role_name(name)
            .set_marker(marker.clone())
            .send()
            .await
            .map_err(|e| format!("ListAttachedRolePolicies `{name}`: {}", describe(&e)))?;
        for attached in out.attached_policies() {
            let Some(arn) = attached.policy_arn() else { continue };
            let policy = iam
                .get_policy()
                .policy_arn(arn)
                .send()
                .await
                .map_err(|e| format!("GetPolicy `{arn}`: {}", describe(&e)))?;
            let version = policy.policy().and_then(|p| p.default_version_id()).unwrap_or("v1").to_owned();
            let got = iam
                .get_policy_version()
                .policy_arn(arn)
                .version_id(&version)
                .send()
                .await
                .map_err(|e| format!("GetPolicyVersion `{arn}` `{version}`: {}", describe(&e)))?;
            let text = got.policy_version().and_then(|v| v.document()).unwrap_or_default();
            let doc = decode_document(text).map_err(|e| format!("managed policy `{arn}`: {e}"))?;
            policies.push(NamedPolicy::managed(arn, doc));
        }
        match (out.is_truncated, out.marker) {
            (true, Some(next)) => marker = Some(next),
            _ => break,
        }
    }
    Ok(Some(Role { trust, policies }))
}

async fn read_instance_profile(iam: &aws_sdk_iam::Client, name: &str) -> Read<InstanceProfile> {
    match iam.get_instance_profile().instance_profile_name(name).send().await {
        Ok(out) => {
            Ok(out.instance_profile.map(|p| InstanceProfile { roles: p.roles.into_iter().map(|r| r.arn).collect() }))
        }
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_entity_exception()) => Ok(None),
        Err(e) => Err(format!("GetInstanceProfile `{name}`: {}", describe(&e))),
    }
}

async fn read_bucket(s3: &aws_sdk_s3::Client, name: &str) -> Read<Bucket> {
    let policy = match s3.get_bucket_policy().bucket(name).send().await {
        Ok(out) => match out.policy() {
            Some(text) => Some(decode_document(text).map_err(|e| format!("the bucket policy of `{name}`: {e}"))?),
            None => None,
        },
        Err(e) if e.code() == Some("NoSuchBucketPolicy") => None,
        Err(e) if e.code() == Some("NoSuchBucket") => return Ok(None),
        Err(e) => return Err(format!("GetBucketPolicy `{name}`: {}", describe(&e))),
    };
    let ownership = match s3.get_bucket_ownership_controls().bucket(name).send().await {
        Ok(out) => {
            out.ownership_controls().and_then(|c| c.rules().first()).map(|r| r.object_ownership().as_str().to_owned())
        }
        Err(e) => {
            tracing::debug!(bucket = name, error = %describe(&e), "no ownership controls");
            None
        }
    };
    Ok(Some(Bucket { policy, ownership }))
}

async fn read_key_policy(kms: &aws_sdk_kms::Client, key: &str) -> Read<PolicyDocument> {
    match kms.get_key_policy().key_id(key).policy_name("default").send().await {
        Ok(out) => match out.policy() {
            Some(text) => Ok(Some(decode_document(text).map_err(|e| format!("the key policy of `{key}`: {e}"))?)),
            None => Ok(Some(PolicyDocument::new(Vec::new()))),
        },
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found_exception()) => Ok(None),
        Err(e) => Err(format!("GetKeyPolicy `{key}`: {}", describe(&e))),
    }
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
    use super::*;

    #[track_caller]
    fn check(input: &str, expect: &str) {
        assert_eq!(decode_document(input).map(|d| d.to_json()).unwrap_or_else(|e| e), expect);
    }

    #[test]
    fn documents_from_iam_and_s3() {
        check(
            "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3A%2A%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
        );
        check(
            r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::a%b/*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::a%b/*"}]}"#,
        );
        check("%7Bnot json", "the document does not parse: key must be a string at line 1 column 2");
    }
}
