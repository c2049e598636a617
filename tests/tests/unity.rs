//! The Unity Catalog mode through the command line, against moto and the Databricks stand-in:
//! an instance-profile owner and a Unity Catalog owner provisioned in one run, the documents
//! read back from the outside, a converged second run, and a destroy that keeps what xacct did
//! not make.

use policy_model::PolicyDocument;
use serde_json::Value;
use testkit::fixtures;

use crate::flow::{decode, World, A, B};

const C: &str = "333333333333";
const IP_BUCKET: &str = "ip-bucket";
const UC_BUCKET: &str = "curated-lake";
const UC_ROLE: &str = "uc-lake-access";

fn mixed_config() -> String {
    format!(
        r#"
[deployment]
account_id = "{A}"
aws_profile = "acct-{A}"
instance_role = "MyRoleA"

[[bucket_owners]]
account_id = "{B}"
aws_profile = "acct-{B}"
role = "MyRoleB"
  [[bucket_owners.buckets]]
  name = "{IP_BUCKET}"

[[bucket_owners]]
account_id = "{C}"
aws_profile = "acct-{C}"
role = "{UC_ROLE}"
access_mode = "unity-catalog"
  [[bucket_owners.buckets]]
  name = "{UC_BUCKET}"
  access = "read-only"
  prefix = "tables/"
  grants = [{{ principal = "data-engineers", privileges = ["READ_FILES"] }}]

[databricks]
"#
    )
}

fn external_id_of(statement: &policy_model::Statement) -> Option<String> {
    statement.condition.as_ref()?.get("StringEquals")?.get("sts:ExternalId")?.iter().next()?.as_str().map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread")]
async fn both_modes_in_one_provision_converge_and_destroy_only_ours() {
    let world = World::start(&[A, B, C]).await;
    fixtures::existing_bucket(&world.profiles, B, IP_BUCKET).await.unwrap();
    fixtures::existing_bucket(&world.profiles, C, UC_BUCKET).await.unwrap();
    let foreign_role = format!("arn:aws:iam::{C}:role/someone-elses");
    world.standin.insert_storage_credential("foreign_cred", &foreign_role, Some("made in the console"));
    // The first validation after the trust changes fails while IAM propagates.
    world.standin.fail_next_validations(1);
    let s3 = world.profiles.s3(C).await;
    let uc_bucket_policy = || async {
        let policy = s3.get_bucket_policy().bucket(UC_BUCKET).send().await.unwrap().policy.unwrap();
        PolicyDocument::from_json(&policy).unwrap().to_json()
    };
    let before = uc_bucket_policy().await;
    let config = mixed_config();

    let (out, json) = world.xacct(&["provision", "--yes"], &config);
    assert!(out.status.success(), "provision failed: {json}\n{}", String::from_utf8_lossy(&out.stderr));

    // Databricks holds the credential (with its external ID), the location and the grants.
    let credentials = world.standin.storage_credentials();
    let ours = credentials.iter().find(|c| c["name"] == "uc_lake_access").expect("the credential");
    assert_eq!(ours["aws_iam_role"]["role_arn"], format!("arn:aws:iam::{C}:role/{UC_ROLE}"));
    assert!(ours["comment"].as_str().unwrap().starts_with("managed by xacct"), "{ours}");
    let external_id = ours["aws_iam_role"]["external_id"].as_str().unwrap().to_owned();
    let created = world.standin.requests_to("/api/2.1/unity-catalog/storage-credentials");
    assert_eq!(created.iter().filter(|r| r.method == "POST").count(), 1);
    let locations = world.standin.external_locations();
    assert_eq!(locations.len(), 1, "{locations:?}");
    assert_eq!(locations[0]["name"], "curated_lake");
    assert_eq!(locations[0]["url"], format!("s3://{UC_BUCKET}/tables/"));
    assert_eq!(locations[0]["read_only"], true);
    assert_eq!(locations[0]["credential_name"], "uc_lake_access");
    assert_eq!(world.standin.location_grants("curated_lake")["data-engineers"], ["READ_FILES"]);
    assert_eq!(world.standin.validations(), 2, "one failed validation, retried once");

    // The role's trust names the returned external ID on both statements; its policy grants the
    // read-only actions under the prefix and the self-assume.
    let iam_c = world.iam(C).await;
    let role = iam_c.get_role().role_name(UC_ROLE).send().await.unwrap().role.unwrap();
    let trust = decode(role.assume_role_policy_document().unwrap());
    assert_eq!(trust.statement.len(), 2, "{}", trust.to_json());
    for statement in &trust.statement {
        assert_eq!(external_id_of(statement).as_deref(), Some(external_id.as_str()), "{}", trust.to_json());
    }
    let text = trust.to_json();
    assert!(text.contains(testkit::databricks::UC_MASTER_ROLE), "{text}");
    assert!(text.contains(&format!("arn:aws:iam::{C}:root")) && text.contains("aws:PrincipalArn"), "{text}");
    assert!(role.tags().iter().any(|t| t.key() == "xacct:managed" && t.value() == "true"));
    let policy = iam_c
        .get_role_policy()
        .role_name(UC_ROLE)
        .policy_name(policy_model::unity::PERMISSION_POLICY_NAME)
        .send()
        .await
        .unwrap();
    let policy = decode(policy.policy_document()).to_json();
    assert!(policy.contains(&format!("arn:aws:s3:::{UC_BUCKET}/tables/*")), "{policy}");
    assert!(policy.contains(&format!("\"Resource\":\"arn:aws:iam::{C}:role/{UC_ROLE}\"")), "{policy}");
    assert!(!policy.contains("s3:PutObject"), "read-only: {policy}");
    // A second client, boto3, reads the same: the external ID on both trust statements, and
    // the permission policy.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::process::Command::new(root.join(".venv/bin/python"))
        .arg(root.join("tests/scripts/role_documents.py"))
        .args([&testkit::Profiles::profile_name(C), UC_ROLE, policy_model::unity::PERMISSION_POLICY_NAME])
        .envs(world.profiles.env())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {}", String::from_utf8_lossy(&out.stderr));
    let seen: Value = serde_json::from_str(&stdout).unwrap();
    let statements = seen["trust"]["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 2, "{seen}");
    for statement in statements {
        assert_eq!(statement["Condition"]["StringEquals"]["sts:ExternalId"], external_id.as_str(), "{seen}");
    }
    assert_eq!(PolicyDocument::from_json(&seen["policy"].to_string()).unwrap().to_json(), policy, "{seen}");
    // The instance-profile owner works as before, in the same run; the UC bucket is left alone.
    assert_eq!(world.standin.instance_profiles().len(), 1);
    assert!(world.iam(B).await.get_role().role_name("MyRoleB").send().await.is_ok());
    assert_eq!(uc_bucket_policy().await, before);

    // A converged second run writes nothing on either side.
    let (out, json) = world.xacct(&["provision", "--yes"], &config);
    assert!(out.status.success(), "{json}");
    assert_eq!(json["api_calls"]["aws_writes"], 0, "{json}");
    assert_eq!(json["api_calls"]["databricks_writes"], 0, "{json}");
    let changes: Vec<&Value> = json["plan"]["databricks"].as_array().unwrap().iter().collect();
    assert!(changes.iter().all(|c| c["action"] == "no-op"), "{changes:?}");

    // Destroy takes out only what xacct made.
    let (out, json) = world.xacct(&["destroy", "--yes"], &config);
    assert!(out.status.success(), "destroy failed: {json}\n{}", String::from_utf8_lossy(&out.stderr));
    let left: Vec<Value> = world.standin.storage_credentials();
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0]["name"], "foreign_cred");
    assert!(world.standin.external_locations().is_empty());
    assert!(iam_c.get_role().role_name(UC_ROLE).send().await.is_err(), "the role xacct made is gone");
    assert_eq!(uc_bucket_policy().await, before);
}

fn link<'a>(json: &'a Value, id: &str) -> &'a Value {
    json["links"].as_array().unwrap().iter().find(|l| l["id"] == id).unwrap_or_else(|| panic!("no link {id}: {json}"))
}

/// Each breakage made behind xacct's back fails `verify` on its own link, with a fix; a fresh
/// provision repairs what is xacct's.
#[tokio::test(flavor = "multi_thread")]
async fn verify_names_the_broken_unity_catalog_link() {
    let world = World::start(&[A, B, C]).await;
    fixtures::existing_bucket(&world.profiles, B, IP_BUCKET).await.unwrap();
    fixtures::existing_bucket(&world.profiles, C, UC_BUCKET).await.unwrap();
    let config = mixed_config();
    let (out, json) = world.xacct(&["provision", "--yes"], &config);
    assert!(out.status.success(), "provision failed: {json}");

    let (out, json) = world.xacct(&["verify", "--offline"], &config);
    assert!(out.status.success(), "{json}");
    for id in [format!("uc-trust:{C}"), format!("uc-self-assume:{C}"), format!("uc-bucket:{UC_BUCKET}")] {
        assert_eq!(link(&json, &id)["status"], "pass", "{json}");
    }
    let (out, json) = world.xacct(&["verify"], &config);
    let healthy = |json: &Value| {
        for id in [
            format!("uc-credential:{C}"),
            format!("uc-trust:{C}"),
            format!("uc-self-assume:{C}"),
            format!("uc-bucket:{UC_BUCKET}"),
            format!("uc-validate:{UC_BUCKET}:READ"),
            format!("uc-validate:{UC_BUCKET}:LIST"),
        ] {
            assert_eq!(link(json, &id)["status"], "pass", "{id}: {json}");
        }
        assert_eq!(link(json, &format!("uc-validate:{UC_BUCKET}:WRITE"))["status"], "skipped", "read-only");
    };
    healthy(&json);
    assert_eq!(out.status.code(), Some(0), "{json}");

    let iam = world.iam(C).await;
    let trust = decode(
        iam.get_role().role_name(UC_ROLE).send().await.unwrap().role.unwrap().assume_role_policy_document().unwrap(),
    );
    let set_trust = |doc: PolicyDocument| {
        let iam = iam.clone();
        async move {
            iam.update_assume_role_policy().role_name(UC_ROLE).policy_document(doc.to_json()).send().await.unwrap()
        }
    };
    let broken = |json: &Value, id: &str, words: &str| {
        let l = link(json, id);
        assert_eq!(l["status"], "fail", "{id}: {json}");
        assert!(l["evidence"].as_str().unwrap().contains(words), "{id}: {l}");
        assert!(l["fix"].as_str().is_some_and(|f| !f.is_empty()), "{id}: {l}");
    };

    // 1. The self-assume statement is gone.
    let mut no_self = trust.clone();
    no_self.statement.truncate(1);
    set_trust(no_self).await;
    let (out, json) = world.xacct(&["verify"], &config);
    assert_eq!(out.status.code(), Some(1), "{json}");
    broken(&json, &format!("uc-self-assume:{C}"), "does not let the role assume itself");
    assert_eq!(link(&json, &format!("uc-trust:{C}"))["status"], "pass");

    // 2. A wrong external ID.
    set_trust(PolicyDocument::from_json(&trust.to_json().replace("stand-in-external-id", "someone-elses-id")).unwrap())
        .await;
    let (_, json) = world.xacct(&["verify"], &config);
    broken(&json, &format!("uc-trust:{C}"), "the trust requires external ID");

    // 3. The trust names another master role.
    let other = "arn:aws:iam::999999999999:role/other-master";
    set_trust(PolicyDocument::from_json(&trust.to_json().replace(testkit::databricks::UC_MASTER_ROLE, other)).unwrap())
        .await;
    let (_, json) = world.xacct(&["verify"], &config);
    broken(&json, &format!("uc-trust:{C}"), "but not Unity Catalog's master role");

    // provision repairs the trust; verify passes again.
    let (out, json) = world.xacct(&["provision", "--yes"], &config);
    assert!(out.status.success(), "{json}");
    let (_, json) = world.xacct(&["verify"], &config);
    healthy(&json);

    // 4. A bucket policy that denies the role.
    let s3 = world.profiles.s3(C).await;
    let deny = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"NoUnity","Effect":"Deny","Principal":{{"AWS":"arn:aws:iam::{C}:role/{UC_ROLE}"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::{UC_BUCKET}/*"}}]}}"#
    );
    s3.put_bucket_policy().bucket(UC_BUCKET).policy(deny.clone()).send().await.unwrap();
    // Offline, the same policy given as the bucket's existing one fails the same link.
    std::fs::write(world.dir.path().join("deny.json"), &deny).unwrap();
    let with_existing =
        config.replace("  prefix = \"tables/\"", "  prefix = \"tables/\"\n  existing_policy = \"deny.json\"");
    let (out, json) = world.xacct(&["verify", "--offline"], &with_existing);
    assert_eq!(out.status.code(), Some(1), "{json}");
    broken(&json, &format!("uc-bucket:{UC_BUCKET}"), "NoUnity");
    let (out, json) = world.xacct(&["verify"], &config);
    assert_eq!(out.status.code(), Some(1), "{json}");
    broken(&json, &format!("uc-bucket:{UC_BUCKET}"), "NoUnity");
    assert_eq!(link(&json, &format!("uc-trust:{C}"))["status"], "pass");
}
