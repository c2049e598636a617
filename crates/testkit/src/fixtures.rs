//! What a real deployment already has before xacct runs: the bucket with a
//! policy someone else wrote, and the Databricks cross-account role with its
//! EC2 policy. The demo and the e2e tests start from the same state.

use crate::{Error, Profiles};

/// An inline policy name on the cross-account role that already holds a foreign statement.
pub const CROSS_ACCOUNT_POLICY_NAME: &str = "xacct-pass-instance-role";
/// A statement someone else put in the bucket policy; every merge must keep it.
pub const FOREIGN_BUCKET_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"AnalyticsTeamRead","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::333333333333:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::BUCKET/reports/*"}]}"#;
/// The cross-account role's existing policy: the runbook's EC2 statement, shortened.
pub const CROSS_ACCOUNT_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Stmt1403287045000","Effect":"Allow","Action":["ec2:RunInstances","ec2:TerminateInstances","ec2:DescribeInstances","ec2:AssociateIamInstanceProfile"],"Resource":["*"]}]}"#;
const DATABRICKS_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::414351767826:root"},"Action":"sts:AssumeRole"}]}"#;

fn fail(what: &str) -> impl FnOnce(String) -> Error + '_ {
    move |message| Error::Bootstrap { account: what.to_owned(), message }
}

/// Creates `bucket` in account `owner` with [`FOREIGN_BUCKET_POLICY`] and one object under `reports/`.
pub async fn existing_bucket(profiles: &Profiles, owner: &str, bucket: &str) -> Result<(), Error> {
    let s3 = profiles.s3(owner).await;
    let err = |e: &dyn std::fmt::Debug| format!("{e:?}");
    s3.create_bucket().bucket(bucket).send().await.map_err(|e| err(&e)).map_err(fail(owner))?;
    let policy = FOREIGN_BUCKET_POLICY.replace("BUCKET", bucket);
    s3.put_bucket_policy().bucket(bucket).policy(policy).send().await.map_err(|e| err(&e)).map_err(fail(owner))?;
    s3.put_object()
        .bucket(bucket)
        .key("reports/2026-11.csv")
        .body(b"day,rows\n1,42\n".to_vec().into())
        .send()
        .await
        .map_err(|e| err(&e))
        .map_err(fail(owner))?;
    Ok(())
}

/// Creates the Databricks cross-account role `role` in `account` with [`CROSS_ACCOUNT_POLICY`].
pub async fn existing_cross_account_role(profiles: &Profiles, account: &str, role: &str) -> Result<(), Error> {
    let iam = aws_sdk_iam::Client::new(&profiles.sdk_config(account).await);
    let err = |e: &dyn std::fmt::Debug| format!("{e:?}");
    iam.create_role()
        .role_name(role)
        .assume_role_policy_document(DATABRICKS_TRUST)
        .send()
        .await
        .map_err(|e| err(&e))
        .map_err(fail(account))?;
    iam.put_role_policy()
        .role_name(role)
        .policy_name(CROSS_ACCOUNT_POLICY_NAME)
        .policy_document(CROSS_ACCOUNT_POLICY)
        .send()
        .await
        .map_err(|e| err(&e))
        .map_err(fail(account))?;
    Ok(())
}
