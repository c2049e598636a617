//! What real organizations meet and the emulator does not push back on by itself: another writer
//! between xacct's read and its write.

use std::collections::BTreeMap;

use aws_apply::{Accounts, ApplyOptions};
use policy_model::{Access, AccountId, Bucket, BucketName, Deployment, Flow, Owner, PolicyDocument, RoleName};
use testkit::{Emulator, Profiles};

const A: &str = "710000000001";
const B: &str = "710000000002";

const AUDITOR: &str = r#"{"Sid":"Auditor","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::<B>:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::<bucket>/audit/*"}"#;
const LATE: &str = r#"{"Sid":"LateWriter","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::<B>:root"},"Action":"s3:ListBucket","Resource":"arn:aws:s3:::<bucket>"}"#;

fn s3(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(config).force_path_style(true).build())
}

fn statement(template: &str, bucket: &str) -> serde_json::Value {
    serde_json::from_str(&template.replace("<B>", B).replace("<bucket>", bucket)).unwrap()
}

fn flow(bucket: &str) -> Flow {
    Flow::new(
        "us-east-1",
        Deployment {
            account_id: AccountId::new(A).unwrap(),
            instance_role: RoleName::new("MyRoleA").unwrap(),
            cross_account_role: None,
        },
        vec![Owner {
            account_id: AccountId::new(B).unwrap(),
            role: RoleName::new("MyRoleB").unwrap(),
            buckets: vec![Bucket {
                name: BucketName::new(bucket).unwrap(),
                access: Access::ReadWrite,
                kms_key_arn: None,
                mount: false,
            }],
        }],
    )
    .unwrap()
}

async fn accounts(profiles: &Profiles) -> Accounts {
    let mut configs = BTreeMap::new();
    for id in [A, B] {
        configs.insert(AccountId::new(id).unwrap(), profiles.sdk_config(id).await);
    }
    Accounts::from_sdk_configs(configs)
}

async fn bucket_sids(s3: &aws_sdk_s3::Client, bucket: &str) -> Vec<String> {
    let text = s3.get_bucket_policy().bucket(bucket).send().await.unwrap().policy.unwrap();
    let doc = PolicyDocument::from_api_text(&text).unwrap();
    doc.statement.iter().map(|s| s.sid.clone().unwrap_or_default()).collect()
}

/// A second writer, a plain S3 client, adds a statement to the bucket policy after xacct's plan
/// read it: the apply keeps it, next to the statement that was there and ours, and the next plan
/// writes nothing.
#[tokio::test(flavor = "multi_thread")]
async fn a_second_writer_between_plan_and_apply_keeps_its_statement() {
    let emulator = Emulator::start().unwrap();
    let profiles = emulator.bootstrap(&[A, B]).await.unwrap();
    let bucket = format!("xacct-orgs-{B}");
    let other = s3(&profiles.sdk_config(B).await);
    other.create_bucket().bucket(&bucket).send().await.unwrap();
    let first = serde_json::json!({ "Version": "2012-10-17", "Statement": [statement(AUDITOR, &bucket)] });
    other.put_bucket_policy().bucket(&bucket).policy(first.to_string()).send().await.unwrap();

    let flow = flow(&bucket);
    let accounts = accounts(&profiles).await;
    let observed = aws_apply::observe(&accounts, &flow).await.unwrap();
    let plan = aws_apply::plan(&flow, &observed).unwrap();

    let second = serde_json::json!({ "Version": "2012-10-17", "Statement": [statement(AUDITOR, &bucket), statement(LATE, &bucket)] });
    other.put_bucket_policy().bucket(&bucket).policy(second.to_string()).send().await.unwrap();

    aws_apply::apply(&accounts, &plan, &ApplyOptions::default()).await.unwrap();
    assert_eq!(
        bucket_sids(&other, &bucket).await,
        ["Auditor", "LateWriter", "XacctBucketMyRoleB", "XacctObjectsMyRoleB"]
    );
    let again = aws_apply::plan(&flow, &aws_apply::observe(&accounts, &flow).await.unwrap()).unwrap();
    assert!(again.is_converged(), "{again}");
}
