//! Several owner accounts: 3 owners and 5 buckets, one KMS-encrypted and one
//! read-only, through the CLI against moto and the stand-in.

use policy_model::PolicyDocument;
use testkit::fixtures;

use crate::flow::{World, A};

const B1: &str = "222222222222";
const B2: &str = "333333333333";
const B3: &str = "444444444444";

#[tokio::test(flavor = "multi_thread")]
async fn three_owners_five_buckets() {
    let world = World::start(&[A, B1, B2, B3]).await;
    fixtures::existing_cross_account_role(&world.profiles, A, "databricks-cross-account").await.unwrap();
    let buckets =
        [(B1, "raw-events"), (B1, "raw-encrypted"), (B2, "curated"), (B2, "curated-readonly"), (B3, "exports")];
    for (owner, bucket) in buckets {
        fixtures::existing_bucket(&world.profiles, owner, bucket).await.unwrap();
    }
    let kms = aws_sdk_kms::Client::new(&world.profiles.sdk_config(B1).await);
    let key = kms.create_key().send().await.unwrap().key_metadata.unwrap();
    let key_arn = key.arn().unwrap().to_owned();

    let config = format!(
        r#"
[deployment]
account_id = "{A}"
aws_profile = "acct-{A}"
instance_role = "MyRoleA"
cross_account_role = "databricks-cross-account"

[[bucket_owners]]
account_id = "{B1}"
aws_profile = "acct-{B1}"
role = "DataRoleB1"
  [[bucket_owners.buckets]]
  name = "raw-events"
  [[bucket_owners.buckets]]
  name = "raw-encrypted"
  kms_key_arn = "{key_arn}"

[[bucket_owners]]
account_id = "{B2}"
aws_profile = "acct-{B2}"
role = "DataRoleB2"
  [[bucket_owners.buckets]]
  name = "curated"
  [[bucket_owners.buckets]]
  name = "curated-readonly"
  access = "read-only"

[[bucket_owners]]
account_id = "{B3}"
aws_profile = "acct-{B3}"
role = "DataRoleB3"
  [[bucket_owners.buckets]]
  name = "exports"

[databricks]
[databricks.new_cluster]
cluster_name = "multi"
spark_version = "15.4.x-scala2.12"
node_type_id = "i3.xlarge"
num_workers = 1
"#
    );

    let (out, json) = world.xacct(&["provision", "--yes"], &config);
    assert!(out.status.success(), "{json}\n{}", String::from_utf8_lossy(&out.stderr));

    // A's assume policy names all three owner roles.
    let iam_a = world.iam(A).await;
    let names = iam_a.list_role_policies().role_name("MyRoleA").send().await.unwrap();
    let assume =
        iam_a.get_role_policy().role_name("MyRoleA").policy_name(&names.policy_names()[0]).send().await.unwrap();
    let assume = crate::flow::decode(assume.policy_document()).to_json();
    for (owner, role) in [(B1, "DataRoleB1"), (B2, "DataRoleB2"), (B3, "DataRoleB3")] {
        assert!(assume.contains(&format!("arn:aws:iam::{owner}:role/{role}")), "{assume}");
        let trust = world.iam(owner).await.get_role().role_name(role).send().await.unwrap();
        let trust = crate::flow::decode(trust.role.unwrap().assume_role_policy_document().unwrap()).to_json();
        assert!(trust.contains("arn:aws:iam::111111111111:role/MyRoleA"), "{trust}");
    }

    // Read-only gets the read set only; the others get writes too.
    for (owner, bucket) in buckets {
        let policy = world.profiles.s3(owner).await.get_bucket_policy().bucket(bucket).send().await.unwrap();
        let policy = PolicyDocument::from_json(policy.policy().unwrap()).unwrap();
        assert_eq!(policy.statement[0].sid.as_deref(), Some("AnalyticsTeamRead"), "{bucket}: foreign statement moved");
        let text = policy.to_json();
        assert!(text.contains("s3:GetObject") && text.contains("s3:ListBucket"), "{bucket}: {text}");
        assert_eq!(text.contains("s3:PutObject"), bucket != "curated-readonly", "{bucket}: {text}");
    }

    // The key policy names B1's role for decrypt and data keys, and keeps the root statement.
    let key_policy = kms.get_key_policy().key_id(key.key_id()).policy_name("default").send().await.unwrap();
    let key_policy = key_policy.policy().unwrap();
    assert!(key_policy.contains("arn:aws:iam::222222222222:role/DataRoleB1"), "{key_policy}");
    assert!(key_policy.contains("kms:Decrypt") && key_policy.contains("kms:GenerateDataKey"), "{key_policy}");
    assert!(key_policy.contains("arn:aws:iam::222222222222:root"), "{key_policy}");

    // Each bucket assumes its own owner's role through per-bucket Spark keys.
    let create = &world.standin.requests_to("/api/2.1/clusters/create")[0].body;
    let conf = &create["spark_conf"];
    assert_eq!(
        conf["spark.hadoop.fs.s3a.bucket.curated.stsAssumeRole.arn"],
        "arn:aws:iam::333333333333:role/DataRoleB2"
    );
    assert_eq!(
        conf["spark.hadoop.fs.s3a.bucket.exports.stsAssumeRole.arn"],
        "arn:aws:iam::444444444444:role/DataRoleB3"
    );
    assert_eq!(conf["spark.hadoop.fs.s3a.bucket.raw-encrypted.credentialsType"], "AssumeRole");

    let (out, json) = world.xacct(&["verify"], &config);
    assert!(out.status.success(), "verify: {json}");
    let links = json["links"].as_array().unwrap();
    assert!(links.iter().any(|l| l["id"] == "kms:raw-encrypted" && l["status"] == "pass"), "{json}");

    let (_, json) = world.xacct(&["provision", "--yes"], &config);
    assert_eq!(json["api_calls"]["aws_writes"], 0, "{json}");
    assert_eq!(json["api_calls"]["databricks_writes"], 0, "{json}");
}
