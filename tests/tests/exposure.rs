//! `xacct exposure` against the emulator: foreign statements planted in the bucket policy,
//! MyRoleB's trust policy and the key policy before `provision` merges its own; live, the
//! deployed documents give exactly the planted findings, and offline, the same documents given
//! in the config give the same ones.

use serde_json::Value;

use crate::flow::{World, A, B};

const BUCKET: &str = "exposed-bucket";

fn statements(json: &str) -> String {
    format!(r#"{{"Version":"2012-10-17","Statement":[{json}]}}"#)
}

/// The findings as comparable lines: resource, kind, principal, principal kind, actions,
/// statement, conditions, accepted.
fn lines(json: &Value) -> Vec<String> {
    let mut out: Vec<String> = json["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("no findings in {json}"))
        .iter()
        .map(|f| {
            let actions: Vec<&str> = f["actions"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
            format!(
                "{} {} {} {} [{}] {} `{}` {}",
                f["resource"].as_str().unwrap(),
                f["kind"].as_str().unwrap(),
                f["principal"].as_str().unwrap(),
                f["principal_kind"].as_str().unwrap(),
                actions.join(","),
                f["statement"].as_str().unwrap(),
                f["conditions"].as_str().unwrap(),
                f["accepted"]
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

    // The bucket, with a partner account's root, a public prefix, an org-wide read and a grant a
    // later Deny removes.
    let bucket_policy = statements(&format!(
        r#"{{"Sid":"Partner","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::444444444444:root"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::{BUCKET}/*"}},
           {{"Sid":"PublicReports","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::{BUCKET}/public/*"}},
           {{"Sid":"OrgRead","Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::{BUCKET}","Condition":{{"StringEquals":{{"aws:PrincipalOrgID":"o-abc123def4"}}}}}},
           {{"Sid":"Former","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::999999999990:root"}},"Action":"s3:PutObject","Resource":"arn:aws:s3:::{BUCKET}/*"}},
           {{"Sid":"FormerRevoked","Effect":"Deny","Principal":{{"AWS":"arn:aws:iam::999999999990:root"}},"Action":"s3:*","Resource":["arn:aws:s3:::{BUCKET}","arn:aws:s3:::{BUCKET}/*"]}}"#
    ));
    let s3 = world.profiles.s3(B).await;
    s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    s3.put_bucket_policy().bucket(BUCKET).policy(&bucket_policy).send().await.unwrap();

    // MyRoleB exists already and also trusts an account nobody remembers.
    let trust = statements(
        r#"{"Sid":"Legacy","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::777777777777:root"},"Action":"sts:AssumeRole"}"#,
    );
    let iam_b = aws_sdk_iam::Client::new(&config_b);
    iam_b.create_role().role_name("MyRoleB").assume_role_policy_document(&trust).send().await.unwrap();

    // The key lets another account decrypt.
    let kms = aws_sdk_kms::Client::new(&config_b);
    let key = kms.create_key().send().await.unwrap().key_metadata.unwrap().arn.unwrap();
    let key_policy = statements(&format!(
        r#"{{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{B}:root"}},"Action":"kms:*","Resource":"*"}},
           {{"Sid":"PartnerDecrypt","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::888888888888:root"}},"Action":"kms:Decrypt","Resource":"*"}}"#
    ));
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

    // Before provision, the planted statements are already there (MyRoleA is not yet trusted).
    let (out, json) = world.xacct(&["provision", "--yes"], &config(""));
    assert!(out.status.success(), "provision failed: {json}\n{}", String::from_utf8_lossy(&out.stderr));

    let expected = [
        format!("arn:aws:iam::{B}:role/MyRoleB trust arn:aws:iam::777777777777:root account [sts:AssumeRole] Legacy `` false"),
        format!("arn:aws:s3:::{BUCKET} bucket * public [s3:GetObject] PublicReports `` false"),
        format!("arn:aws:s3:::{BUCKET} bucket arn:aws:iam::444444444444:root account [s3:GetObject] Partner `` false"),
        format!("arn:aws:s3:::{BUCKET} bucket o-abc123def4 organization [s3:ListBucket] OrgRead `StringEquals aws:PrincipalOrgID = o-abc123def4` false"),
        format!("{key} kms arn:aws:iam::888888888888:root account [kms:Decrypt] PartnerDecrypt `` false"),
    ];
    let mut expected: Vec<String> = expected.into_iter().collect();
    expected.sort();

    let (out, live) = world.xacct(&["exposure"], &config(""));
    assert_eq!(out.status.code(), Some(1), "{live}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(live["ok"], false);
    assert_eq!(live["unchecked"], serde_json::json!([]), "{live}");
    assert_eq!(lines(&live), expected, "{live}");

    let (out, offline) = world.xacct(&["exposure", "--offline"], &config(""));
    assert_eq!(out.status.code(), Some(1), "{offline}");
    assert_eq!(lines(&offline), lines(&live), "offline and live disagree on the same documents");

    // Accepting every planted principal makes both exit 0, the findings still listed.
    let all =
        r#""arn:aws:iam::777777777777:root", "*", "444444444444", "o-abc123def4", "arn:aws:iam::888888888888:root""#;
    for args in [&["exposure"][..], &["exposure", "--offline"][..]] {
        let (out, json) = world.xacct(args, &config(all));
        assert_eq!(out.status.code(), Some(0), "{args:?}: {json}");
        assert_eq!(json["ok"], true);
        assert!(json["findings"].as_array().unwrap().iter().all(|f| f["accepted"] == true), "{json}");
        assert_eq!(json["findings"].as_array().unwrap().len(), expected.len());
    }
}
