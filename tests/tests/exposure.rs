//! `xacct exposure` against the emulator: the exposure corpus (the cases verify's unit tests
//! run offline) planted as foreign statements in the bucket policy, MyRoleB's trust policy and
//! the key policy before `provision` merges its own. Live, the deployed documents give exactly the
//! corpus's findings; offline, the same documents given in the config give the same ones.

use serde_json::Value;
use verify::exposure::corpus::{self, Case};
use verify::exposure::ResourceKind;

use crate::flow::{World, A, B};

const BUCKET: &str = "exposed-bucket";

/// The findings in the corpus's one-line form, sorted.
fn briefs(json: &Value) -> Vec<String> {
    let mut out: Vec<String> = json["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("no findings in {json}"))
        .iter()
        .map(|f| {
            let actions: Vec<&str> = f["actions"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
            format!(
                "{} {} {} [{}] {}",
                f["kind"].as_str().unwrap(),
                f["principal_kind"].as_str().unwrap(),
                f["principal"].as_str().unwrap(),
                actions.join(","),
                f["statement"].as_str().unwrap()
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn exposure_finds_exactly_the_planted_statements() {
    let world = World::start(&[A, B]).await;
    let config_b = world.profiles.sdk_config(B).await;
    let kms = aws_sdk_kms::Client::new(&config_b);
    let key = kms.create_key().send().await.unwrap().key_metadata.unwrap().arn.unwrap();
    let flow = verify::corpus::flow_in(A, B, BUCKET, &key);
    let cases: Vec<Case> = corpus::cases(&flow);
    let mut expected: Vec<String> = cases.iter().flat_map(|c| c.expected.clone()).collect();
    expected.sort();

    // The bucket, MyRoleB (which exists already) and the key, each with its cases planted.
    let bucket_policy = corpus::planted(&cases, ResourceKind::Bucket, None).to_json();
    let s3 = world.profiles.s3(B).await;
    s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    s3.put_bucket_policy().bucket(BUCKET).policy(&bucket_policy).send().await.unwrap();
    let trust = corpus::planted(&cases, ResourceKind::Trust, None).to_json();
    let iam_b = aws_sdk_iam::Client::new(&config_b);
    iam_b.create_role().role_name("MyRoleB").assume_role_policy_document(&trust).send().await.unwrap();
    let key_policy = corpus::planted(&cases, ResourceKind::Kms, Some(&verify::default_key_policy(B))).to_json();
    kms.put_key_policy().key_id(&key).policy_name("default").policy(&key_policy).send().await.unwrap();

    for (file, text) in [("bucket.json", &bucket_policy), ("trust.json", &trust), ("key.json", &key_policy)] {
        std::fs::write(world.dir.path().join(file), text).unwrap();
    }
    let config = |accept: &str| {
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
existing_trust_policy = "trust.json"
  [[bucket_owners.buckets]]
  name = "{BUCKET}"
  kms_key_arn = "{key}"
  existing_policy = "bucket.json"
  existing_key_policy = "key.json"

[exposure]
accept = [{accept}]
"#
        )
    };

    // provision merges xacct's statements into the planted documents and leaves the rest.
    let (out, json) = world.xacct(&["provision", "--yes"], &config(""));
    assert!(out.status.success(), "provision failed: {json}\n{}", String::from_utf8_lossy(&out.stderr));

    let (out, live) = world.xacct(&["exposure"], &config(""));
    assert_eq!(out.status.code(), Some(1), "{live}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(live["ok"], false);
    assert_eq!(live["unchecked"], serde_json::json!([]), "{live}");
    assert_eq!(briefs(&live), expected, "{live}");
    let org = live["findings"].as_array().unwrap().iter().find(|f| f["principal_kind"] == "organization").unwrap();
    assert_eq!(org["conditions"], "StringEquals aws:PrincipalOrgID = o-abc123def4");

    let (out, offline) = world.xacct(&["exposure", "--offline"], &config(""));
    assert_eq!(out.status.code(), Some(1), "{offline}");
    assert_eq!(offline["findings"], live["findings"], "offline and live disagree on the same documents");

    // Accepting every planted principal makes both exit 0, the findings still listed.
    let all: Vec<String> = live["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{:?}", f["principal"].as_str().unwrap()))
        .collect();
    let all = all.join(", ");
    for args in [&["exposure"][..], &["exposure", "--offline"][..]] {
        let (out, json) = world.xacct(args, &config(&all));
        assert_eq!(out.status.code(), Some(0), "{args:?}: {json}");
        assert_eq!(json["ok"], true);
        assert!(json["findings"].as_array().unwrap().iter().all(|f| f["accepted"] == true), "{json}");
        assert_eq!(json["findings"].as_array().unwrap().len(), expected.len());
    }
}
