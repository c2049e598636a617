use std::collections::BTreeMap;

use expect_test::{expect, Expect};
use policy_model::{Access, PolicyDocument};

use crate::corpus::{self, Change};
use crate::{offline, Databricks, NamedPolicy, OfflineInputs, Report, State, Status};

const KEY: &str = "arn:aws:kms:us-east-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const CLUSTER: &str = "0101-000000-corpus";

fn full_access() -> Vec<Vec<PolicyDocument>> {
    let doc = r#"{"Version":"2012-10-17","Statement":[{"Sid":"FullAWSAccess","Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    vec![vec![PolicyDocument::from_json(doc).unwrap()]]
}

fn healthy_inputs(flow: &policy_model::Flow) -> OfflineInputs {
    OfflineInputs {
        scps: full_access(),
        databricks: Some(Databricks::expected(flow, Some(CLUSTER))),
        ..OfflineInputs::default()
    }
}

/// `flow` changed by `edit`, checked again.
fn edited(
    flow: policy_model::Flow,
    edit: impl FnOnce(&mut policy_model::Deployment, &mut Vec<policy_model::Owner>),
) -> policy_model::Flow {
    let (region, mut deployment, mut owners) = flow.into_parts().unwrap();
    edit(&mut deployment, &mut owners);
    policy_model::Flow::new(region, deployment, owners).unwrap()
}

/// The report as one line per link (`status id`), for snapshots.
fn summary(report: &Report) -> String {
    report.links.iter().map(|l| format!("{} {}\n", l.status, l.id)).collect()
}

#[track_caller]
fn check(report: &Report, expect: Expect) {
    expect.assert_eq(&report.to_string());
}

#[test]
fn healthy_passes_every_link() {
    let flow = corpus::flow(KEY);
    let report = offline(&flow, &healthy_inputs(&flow));
    check(
        &report,
        expect![[r#"
            PASS  passrole                    arn:aws:iam::111111111111:role/databricks-cross-account -> arn:aws:iam::111111111111:role/MyRoleA  (iam:PassRole)
                                              · iam:PassRole allowed: Allow statement `XacctPassRoleMyRoleA` (identity) of account 111111111111 inline policy xacct-pass-instance-role of role databricks-cross-account
            PASS  instance-profile            arn:aws:iam::111111111111:instance-profile/MyRoleA -> arn:aws:iam::111111111111:role/MyRoleA  (holds the role; ec2.amazonaws.com sts:AssumeRole)
                                              · instance profile arn:aws:iam::111111111111:instance-profile/MyRoleA holds arn:aws:iam::111111111111:role/MyRoleA
                                              · Allow statement `XacctEc2AssumeRole` (resource) of account 111111111111 trust policy of role MyRoleA
            PASS  assume-a-to-b:222222222222  arn:aws:iam::111111111111:role/MyRoleA -> arn:aws:iam::222222222222:role/MyRoleB  (sts:AssumeRole (identity policy))
                                              · Allow statement `XacctAssumeBucketOwnerRoles` (identity) of account 111111111111 inline policy xacct-assume-bucket-owner-roles of role MyRoleA
            PASS  trust-b:222222222222        arn:aws:iam::111111111111:role/MyRoleA -> arn:aws:iam::222222222222:role/MyRoleB  (sts:AssumeRole (trust policy))
                                              · Allow statement `XacctTrust111111111111MyRoleA` (resource) of account 222222222222 trust policy of role MyRoleB
            PASS  bucket:xacct-verify-data    arn:aws:iam::222222222222:role/MyRoleB -> arn:aws:s3:::xacct-verify-data  (s3:GetBucketLocation, s3:ListBucket, s3:GetObject, s3:PutObject, s3:PutObjectAcl, s3:DeleteObject)
                                              · s3:GetBucketLocation allowed: Allow statement `XacctBucketMyRoleB` (resource) of account 222222222222 bucket policy of xacct-verify-data
                                              · s3:ListBucket allowed: Allow statement `XacctBucketMyRoleB` (resource) of account 222222222222 bucket policy of xacct-verify-data
                                              · s3:GetObject allowed: Allow statement `XacctObjectsMyRoleB` (resource) of account 222222222222 bucket policy of xacct-verify-data
                                              · s3:PutObject allowed: Allow statement `XacctObjectsMyRoleB` (resource) of account 222222222222 bucket policy of xacct-verify-data
                                              · s3:PutObjectAcl allowed: Allow statement `XacctObjectsMyRoleB` (resource) of account 222222222222 bucket policy of xacct-verify-data
                                              · s3:DeleteObject allowed: Allow statement `XacctObjectsMyRoleB` (resource) of account 222222222222 bucket policy of xacct-verify-data
            PASS  kms:xacct-verify-data       arn:aws:iam::222222222222:role/MyRoleB -> arn:aws:kms:us-east-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab  (kms:Decrypt, kms:GenerateDataKey)
                                              · kms:Decrypt allowed: Allow statement `Enable IAM User Permissions` (resource) of account 222222222222 key policy of arn:aws:kms:us-east-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab, Allow statement `XacctKeyUserMyRoleB` (resource) of account 222222222222 key policy of arn:aws:kms:us-east-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab
                                              · kms:GenerateDataKey allowed: Allow statement `Enable IAM User Permissions` (resource) of account 222222222222 key policy of arn:aws:kms:us-east-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab, Allow statement `XacctKeyUserMyRoleB` (resource) of account 222222222222 key policy of arn:aws:kms:us-east-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab
            PASS  scp                         service control policies -> every request of the chain  (no Deny, an Allow at every level)
                                              · the SCPs allow all 10 requests of the chain
            PASS  databricks                  Databricks workspace -> arn:aws:iam::111111111111:instance-profile/MyRoleA  (instance profile registered; cluster conf)
                                              · instance profile arn:aws:iam::111111111111:instance-profile/MyRoleA is registered
                                              · cluster 0101-000000-corpus uses instance profile arn:aws:iam::111111111111:instance-profile/MyRoleA
                                              · cluster 0101-000000-corpus has the S3A AssumeRole keys for every bucket
            ok: every checked link passes (8 pass, 0 skipped)
        "#]],
    );
    assert!(report.ok);
    assert!(report.links.iter().all(|l| l.status == Status::Pass), "{report}");
}

/// Every corpus case, offline: the named link fails with the named words in its fix, and every
/// other link still passes.
#[test]
fn corpus_offline() {
    let flow = corpus::flow(KEY);
    let healthy = State::offline(&flow, &healthy_inputs(&flow));
    for case in corpus::cases(&flow) {
        let mut state = healthy.clone();
        case.change.apply_offline(&mut state);
        let report = crate::evaluate(&flow, &state);
        let failing: Vec<&str> = report.failures().map(|l| l.id.as_str()).collect();
        assert_eq!(failing, [case.link.as_str()], "{}:\n{report}", case.name);
        let link = report.link(&case.link).unwrap();
        let fix = link.fix.as_deref().unwrap_or_default();
        for word in &case.fix_words {
            assert!(fix.contains(word.as_str()), "{}: fix lacks `{word}`:\n{fix}", case.name);
        }
        assert!(!report.ok, "{}", case.name);
    }
}

/// The evidence and fixes of each corpus case, for review.
#[test]
fn corpus_fixes() {
    let flow = corpus::flow(KEY);
    let healthy = State::offline(&flow, &healthy_inputs(&flow));
    let mut text = String::new();
    for case in corpus::cases(&flow) {
        let mut state = healthy.clone();
        case.change.apply_offline(&mut state);
        let report = crate::evaluate(&flow, &state);
        let link = report.link(&case.link).unwrap();
        text.push_str(&format!("# {}\n", case.name));
        for line in &link.evidence {
            text.push_str(&format!("  · {line}\n"));
        }
        text.push_str(&format!("  fix: {}\n", link.fix.as_deref().unwrap_or_default()));
    }
    expect![[r##"
        # trust policy of MyRoleB lacks the statement for MyRoleA
          · no statement of the trust policy of arn:aws:iam::222222222222:role/MyRoleB (account 222222222222) allows arn:aws:iam::111111111111:role/MyRoleA to sts:AssumeRole (AssumeRole would answer 403)
          fix: add to the trust policy of arn:aws:iam::222222222222:role/MyRoleB in account 222222222222: {"Sid":"XacctTrust111111111111MyRoleA","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111111111111:role/MyRoleA"]},"Action":"sts:AssumeRole"}. If IAM answers "Invalid principal in policy", arn:aws:iam::111111111111:role/MyRoleA does not exist yet in account 111111111111 (or was created seconds ago): create it first, wait a few seconds for IAM to propagate, and save again
        # trust policy of MyRoleB requires an external id the cluster never sends
          · no statement of the trust policy of arn:aws:iam::222222222222:role/MyRoleB (account 222222222222) allows arn:aws:iam::111111111111:role/MyRoleA to sts:AssumeRole (AssumeRole would answer 403)
          · a statement of the trust policy of arn:aws:iam::222222222222:role/MyRoleB names arn:aws:iam::111111111111:role/MyRoleA but its Condition (sts:ExternalId) is not met by the request a cluster sends; drop that condition or add a statement without it
          fix: add to the trust policy of arn:aws:iam::222222222222:role/MyRoleB in account 222222222222: {"Sid":"XacctTrust111111111111MyRoleA","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111111111111:role/MyRoleA"]},"Action":"sts:AssumeRole"}. If IAM answers "Invalid principal in policy", arn:aws:iam::111111111111:role/MyRoleA does not exist yet in account 111111111111 (or was created seconds ago): create it first, wait a few seconds for IAM to propagate, and save again
        # MyRoleA has no sts:AssumeRole policy
          · no identity policy of arn:aws:iam::111111111111:role/MyRoleA allows sts:AssumeRole on arn:aws:iam::222222222222:role/MyRoleB (AssumeRole would answer 403)
          fix: allow sts:AssumeRole on arn:aws:iam::222222222222:role/MyRoleB: add it to the Resource of statement XacctAssumeBucketOwnerRoles in the inline policy xacct-assume-bucket-owner-roles of arn:aws:iam::111111111111:role/MyRoleA in account 111111111111 (`xacct provision` does)
        # bucket policy grants another role
          · the bucket policy of xacct-verify-data allows arn:aws:iam::222222222222:role/SomeOtherRole, not arn:aws:iam::222222222222:role/MyRoleB
          · s3:GetBucketLocation not allowed: no identity policy or resource policy allows the action
          · s3:ListBucket not allowed: no identity policy or resource policy allows the action
          · s3:GetObject not allowed: no identity policy or resource policy allows the action
          · s3:PutObject not allowed: no identity policy or resource policy allows the action
          · s3:PutObjectAcl not allowed: no identity policy or resource policy allows the action
          · s3:DeleteObject not allowed: no identity policy or resource policy allows the action
          fix: add to the bucket policy of xacct-verify-data in account 222222222222 (`xacct provision` merges them in): [{"Sid":"XacctBucketMyRoleB","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::222222222222:role/MyRoleB"]},"Action":["s3:GetBucketLocation","s3:ListBucket"],"Resource":"arn:aws:s3:::xacct-verify-data"},{"Sid":"XacctObjectsMyRoleB","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::222222222222:role/MyRoleB"]},"Action":["s3:PutObject","s3:PutObjectAcl","s3:GetObject","s3:DeleteObject"],"Resource":"arn:aws:s3:::xacct-verify-data/*"}]. If S3 answers "Invalid principal in policy", arn:aws:iam::222222222222:role/MyRoleB does not exist yet (or was created seconds ago): create it first, then retry
        # bucket policy denies s3:PutObjectAcl
          · s3:PutObjectAcl denied: Deny statement `DenyObjectAcl` (resource) of account 222222222222 bucket policy of xacct-verify-data
          · s3:GetBucketLocation allowed: Allow statement `XacctBucketMyRoleB` (resource) of account 222222222222 bucket policy of xacct-verify-data
          · s3:ListBucket allowed: Allow statement `XacctBucketMyRoleB` (resource) of account 222222222222 bucket policy of xacct-verify-data
          · s3:GetObject allowed: Allow statement `XacctObjectsMyRoleB` (resource) of account 222222222222 bucket policy of xacct-verify-data
          · s3:PutObject allowed: Allow statement `XacctObjectsMyRoleB` (resource) of account 222222222222 bucket policy of xacct-verify-data
          · s3:DeleteObject allowed: Allow statement `XacctObjectsMyRoleB` (resource) of account 222222222222 bucket policy of xacct-verify-data
          fix: edit statement `DenyObjectAcl` of account 222222222222 bucket policy of xacct-verify-data: it denies s3:PutObjectAcl to arn:aws:iam::222222222222:role/MyRoleB; narrow it or exempt arn:aws:iam::222222222222:role/MyRoleB (xacct never edits statements it did not write)
        # key policy does not name MyRoleB
          · kms:Decrypt not allowed: the key policy allows neither the principal nor its account root
          · kms:GenerateDataKey not allowed: the key policy allows neither the principal nor its account root
          fix: add to the key policy of arn:aws:kms:us-east-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab in account 222222222222 (`xacct provision` merges it in): {"Sid":"XacctKeyUserMyRoleB","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::222222222222:role/MyRoleB"]},"Action":["kms:Decrypt","kms:GenerateDataKey*","kms:Encrypt"],"Resource":"*"}
        # an SCP denies sts:AssumeRole
          · arn:aws:iam::111111111111:role/MyRoleA sts:AssumeRole on arn:aws:iam::222222222222:role/MyRoleB: Deny statement `NoAssumeRole` (scp) of SCP #0 at level 0
          fix: edit statement `NoAssumeRole` of SCP #0 at level 0: it denies sts:AssumeRole to arn:aws:iam::111111111111:role/MyRoleA; narrow it or exempt arn:aws:iam::111111111111:role/MyRoleA (xacct never edits statements it did not write); an SCP that blocks iam:PassRole or sts:AssumeRole also fails the Databricks dry run when the instance profile is added
        # the cross-account role may not pass MyRoleA
          · iam:PassRole not allowed: no identity policy or resource policy allows the action
          fix: add to the inline policy xacct-pass-instance-role of arn:aws:iam::111111111111:role/databricks-cross-account in account 111111111111 (`xacct provision` does): {"Sid":"XacctPassRoleMyRoleA","Effect":"Allow","Action":"iam:PassRole","Resource":["arn:aws:iam::111111111111:role/MyRoleA"]}
        # the instance profile holds no role
          · instance profile arn:aws:iam::111111111111:instance-profile/MyRoleA does not hold arn:aws:iam::111111111111:role/MyRoleA (it holds no role)
          fix: in account 111111111111: aws iam add-role-to-instance-profile --instance-profile-name MyRoleA --role-name MyRoleA (remove the other role first: a profile holds one role)
        # the cluster lacks spark.hadoop.fs.s3a.acl.default
          · instance profile arn:aws:iam::111111111111:instance-profile/MyRoleA is registered
          · cluster 0101-000000-corpus uses instance profile arn:aws:iam::111111111111:instance-profile/MyRoleA
          · cluster 0101-000000-corpus: neither spark.hadoop.fs.s3a.bucket.xacct-verify-data.acl.default nor spark.hadoop.fs.s3a.acl.default is set
          fix: add to the Spark conf of cluster 0101-000000-corpus: spark.hadoop.fs.s3a.acl.default BucketOwnerFullControl
        # the instance profile is not registered in Databricks
          · instance profile arn:aws:iam::111111111111:instance-profile/MyRoleA is not registered in the workspace
          · cluster 0101-000000-corpus uses instance profile arn:aws:iam::111111111111:instance-profile/MyRoleA
          · cluster 0101-000000-corpus has the S3A AssumeRole keys for every bucket
          fix: register it: POST /api/2.0/instance-profiles/add {"instance_profile_arn": "arn:aws:iam::111111111111:instance-profile/MyRoleA"} (Admin Console > Instance profiles; `xacct provision` does)
    "##]].assert_eq(&text);
}

#[track_caller]
fn check_bucket_policy(extra: &str, status: Status) {
    let flow = corpus::flow(KEY);
    let mut inputs = healthy_inputs(&flow);
    inputs.bucket_policies.insert(corpus::BUCKET.to_owned(), PolicyDocument::from_json(extra).unwrap());
    let report = offline(&flow, &inputs);
    let link = report.link(&format!("bucket:{}", corpus::BUCKET)).unwrap();
    assert_eq!(link.status, status, "{report}");
}

#[test]
fn existing_bucket_policies() {
    // Requiring the bucket-owner-full-control ACL on puts: the cluster sends it.
    check_bucket_policy(
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"RequireOwnerAcl","Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::xacct-verify-data/*","Condition":{"StringNotEquals":{"s3:x-amz-acl":"bucket-owner-full-control"}}}]}"#,
        Status::Pass,
    );
    // Refusing plain HTTP: the cluster uses TLS.
    check_bucket_policy(
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"TlsOnly","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::xacct-verify-data","arn:aws:s3:::xacct-verify-data/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}"#,
        Status::Pass,
    );
    // A foreign Deny on deletes for everyone but an admin role.
    check_bucket_policy(
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"NoDeletes","Effect":"Deny","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::xacct-verify-data/*","Condition":{"ArnNotEquals":{"aws:PrincipalArn":"arn:aws:iam::222222222222:role/Admin"}}}]}"#,
        Status::Fail,
    );
}

#[test]
fn optional_links_are_skipped() {
    let flow = edited(corpus::flow(KEY), |d, _| d.cross_account_role = None);
    let report = offline(&flow, &OfflineInputs::default());
    expect![[r#"
        skipped passrole
        pass instance-profile
        pass assume-a-to-b:222222222222
        pass trust-b:222222222222
        pass bucket:xacct-verify-data
        pass kms:xacct-verify-data
        skipped scp
        skipped databricks
    "#]]
    .assert_eq(&summary(&report));
    assert!(report.ok);
}

#[test]
fn read_only_bucket_needs_only_reads() {
    let flow = edited(corpus::flow(KEY), |_, o| o[0].buckets[0].access = Access::ReadOnly);
    let report = offline(&flow, &healthy_inputs(&flow));
    assert!(report.ok, "{report}");
    let bucket = report.link("bucket:xacct-verify-data").unwrap();
    assert_eq!(bucket.action, "s3:GetBucketLocation, s3:ListBucket, s3:GetObject");
    assert_eq!(report.link("kms:xacct-verify-data").unwrap().action, "kms:Decrypt");
}

#[test]
fn existing_pass_role_policy_keeps_its_statements() {
    let flow = corpus::flow(KEY);
    let mut inputs = healthy_inputs(&flow);
    let x_role = flow.deployment().unwrap().cross_account_role_arn().unwrap();
    let ec2 = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Stmt1403287045000","Effect":"Allow","Action":["ec2:RunInstances"],"Resource":"*"},{"Sid":"NoPassing","Effect":"Deny","Action":"iam:PassRole","Resource":"*"}]}"#;
    inputs
        .role_policies
        .insert(x_role, vec![NamedPolicy::inline("databricks-policy", PolicyDocument::from_json(ec2).unwrap())]);
    let report = offline(&flow, &inputs);
    let link = report.link("passrole").unwrap();
    assert_eq!(link.status, Status::Fail);
    expect!["edit statement `NoPassing` of account 111111111111 inline policy databricks-policy of role databricks-cross-account: it denies iam:PassRole to arn:aws:iam::111111111111:role/databricks-cross-account; narrow it or exempt arn:aws:iam::111111111111:role/databricks-cross-account (xacct never edits statements it did not write)"].assert_eq(link.fix.as_deref().unwrap());
}

#[test]
fn bucket_policy_over_the_limit_fails_its_link() {
    let flow = corpus::flow(KEY);
    let mut inputs = healthy_inputs(&flow);
    let big: Vec<String> = (0..1200).map(|i| format!("arn:aws:iam::222222222222:role/r{i:04}")).collect();
    let doc = serde_json::json!({"Version":"2012-10-17","Statement":[{"Sid":"Big","Effect":"Allow","Principal":{"AWS":big},"Action":"s3:GetObject","Resource":"arn:aws:s3:::xacct-verify-data/*"}]});
    inputs.bucket_policies.insert(corpus::BUCKET.to_owned(), PolicyDocument::from_json(&doc.to_string()).unwrap());
    let report = offline(&flow, &inputs);
    let link = report.link("bucket:xacct-verify-data").unwrap();
    assert_eq!(link.status, Status::Fail, "{report}");
    expect!["the bucket policy of xacct-verify-data cannot be written: it would be 47397 characters without whitespace, 26917 over AWS's limit of 20480 for an S3 bucket policy"].assert_eq(&link.evidence.join("; "));
}

#[test]
fn trust_naming_the_account_root_passes() {
    let flow = corpus::flow(KEY);
    let mut state = State::offline(&flow, &healthy_inputs(&flow));
    let root = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:AssumeRole"}]}"#;
    let change = Change::TrustPolicy {
        role_arn: flow.owners()[0].role_arn(),
        document: PolicyDocument::from_json(root).unwrap(),
    };
    change.apply_offline(&mut state);
    let report = crate::evaluate(&flow, &state);
    let link = report.link("trust-b:222222222222").unwrap();
    assert_eq!(link.status, Status::Pass, "{report}");
    assert!(link.evidence.iter().any(|e| e.contains("as a whole")), "{report}");
}

#[test]
fn deleted_role_id_in_trust_is_named() {
    let flow = corpus::flow(KEY);
    let mut state = State::offline(&flow, &healthy_inputs(&flow));
    let stale = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Stale","Effect":"Allow","Principal":{"AWS":"AROAEXAMPLEID1234567"},"Action":"sts:AssumeRole"}]}"#;
    let change = Change::TrustPolicy {
        role_arn: flow.owners()[0].role_arn(),
        document: PolicyDocument::from_json(stale).unwrap(),
    };
    change.apply_offline(&mut state);
    let report = crate::evaluate(&flow, &state);
    let link = report.link("trust-b:222222222222").unwrap();
    assert_eq!(link.status, Status::Fail);
    assert!(link.evidence.iter().any(|e| e.contains("`AROAEXAMPLEID1234567`") && e.contains("deleted")), "{report}");
}

#[test]
fn per_bucket_spark_keys_count() {
    let flow = corpus::flow(KEY);
    let mut inputs = healthy_inputs(&flow);
    let cluster = inputs.databricks.as_mut().unwrap().cluster.as_mut().unwrap();
    cluster.spark_conf = cluster
        .spark_conf
        .iter()
        .map(|(k, v)| (k.replace("fs.s3a.", "fs.s3a.bucket.xacct-verify-data."), v.clone()))
        .collect::<BTreeMap<_, _>>();
    assert_eq!(offline(&flow, &inputs).link("databricks").unwrap().status, Status::Pass);
    // The wrong role ARN for the bucket fails, naming the key.
    let cluster = inputs.databricks.as_mut().unwrap().cluster.as_mut().unwrap();
    cluster.spark_conf.insert(
        "spark.hadoop.fs.s3a.bucket.xacct-verify-data.stsAssumeRole.arn".to_owned(),
        "arn:aws:iam::222222222222:role/Other".to_owned(),
    );
    let report = offline(&flow, &inputs);
    let link = report.link("databricks").unwrap();
    assert_eq!(link.status, Status::Fail);
    assert!(link.fix.as_deref().unwrap().contains(
        "spark.hadoop.fs.s3a.bucket.xacct-verify-data.stsAssumeRole.arn arn:aws:iam::222222222222:role/MyRoleB"
    ));
}

#[test]
fn json_form() {
    let flow = corpus::flow(KEY);
    let mut state = State::offline(&flow, &healthy_inputs(&flow));
    corpus::cases(&flow)[2].change.apply_offline(&mut state);
    let report = crate::evaluate(&flow, &state);
    let value: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    let keys: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["ok", "links", "warnings"]);
    assert_eq!(value["ok"], false);
    let link = &value["links"][2];
    let keys: Vec<&str> = link.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["id", "from", "to", "action", "status", "evidence", "fix"]);
    assert_eq!(link["status"], "fail");
    assert!(link["evidence"].is_string() && link["fix"].is_string());
    assert_eq!(value["links"][0]["fix"], serde_json::Value::Null);
    assert_eq!(value["links"][0]["status"], "pass");
}

#[test]
fn missing_cluster_fails_databricks() {
    let flow = corpus::flow(KEY);
    let mut inputs = healthy_inputs(&flow);
    let db = inputs.databricks.as_mut().unwrap();
    db.cluster = None;
    db.missing_cluster = Some("0101-gone".to_owned());
    let report = offline(&flow, &inputs);
    let link = report.link("databricks").unwrap();
    assert_eq!(link.status, Status::Fail);
    assert!(link.fix.as_deref().unwrap().contains("`databricks.cluster_id`"), "{report}");
}

#[test]
fn validator_findings_on_documents() {
    let flow = corpus::flow(KEY);
    let mut state = State::offline(&flow, &healthy_inputs(&flow));
    assert_eq!(state.findings(), Vec::<String>::new(), "the documents provision writes are clean");
    let open = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Public","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::xacct-verify-data/*"},{"Sid":"Odd","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::12:root"},"Action":"s3:GetObject","Resource":"*"}]}"#;
    state.buckets.get_mut(corpus::BUCKET).unwrap().policy = Some(PolicyDocument::from_json(open).unwrap());
    expect![[r#"
        bucket policy of xacct-verify-data: warning at $.Statement[0].Principal: a wildcard principal allows anyone, in any account, unless a condition narrows it
        bucket policy of xacct-verify-data: error at $.Statement[1].Principal.AWS: principal `arn:aws:iam::12:root` is malformed: the account part must be 12 digits"#]].assert_eq(&state.findings().join("\n"));
}

#[test]
fn unchecked_links_make_the_report_not_ok() {
    let flow = corpus::flow(KEY);
    let mut state = State::offline(&flow, &healthy_inputs(&flow));
    state
        .unreadable
        .insert(corpus::BUCKET.to_owned(), "GetBucketPolicy: no credentials for account 222222222222".to_owned());
    let report = crate::evaluate(&flow, &state);
    let link = report.link("bucket:xacct-verify-data").unwrap();
    assert_eq!(link.status, Status::Unchecked);
    assert!(!report.ok);
    assert_eq!(report.verdict(), crate::Verdict::Unchecked);
    assert_eq!(report.verdict().exit_code(), 3);
    assert_eq!(report.summary().unchecked, 1);
    expect!["not ok: 1 link(s) could not be checked (7 pass, 0 skipped); nothing was proved about them"]
        .assert_eq(report.to_string().lines().last().unwrap());
    // A failing link wins over an unchecked one.
    state.buckets.get_mut(corpus::BUCKET).unwrap().policy = None;
    state.unreadable.insert(KEY.to_owned(), "GetKeyPolicy: AccessDenied".to_owned());
    state.unreadable.remove(corpus::BUCKET);
    state.roles.remove(&flow.deployment().unwrap().instance_role_arn());
    let report = crate::evaluate(&flow, &state);
    assert_eq!(report.verdict(), crate::Verdict::Failed);
    assert_eq!(report.verdict().exit_code(), 1);
}

/// A role's permissions boundary limits what its policies allow: a boundary without an action
/// of the chain fails that link, names the boundary and says how to fix it.
#[test]
fn a_boundary_without_an_action_of_the_chain_fails_its_link() {
    #[track_caller]
    fn check(boundary: &str, role: usize, expect: Expect) {
        let flow = corpus::flow(KEY);
        let mut state = State::offline(&flow, &healthy_inputs(&flow));
        let arn = ["arn:aws:iam::111111111111:role/MyRoleA", "arn:aws:iam::222222222222:role/MyRoleB"][role];
        let doc = (boundary != "-").then(|| PolicyDocument::from_json(boundary).unwrap());
        let account = &arn[13..25];
        state.roles.get_mut(arn).unwrap().boundary = Some((format!("arn:aws:iam::{account}:policy/org-boundary"), doc));
        let report = crate::evaluate(&flow, &state);
        let failed: String = report
            .links
            .iter()
            .filter(|l| l.status != Status::Pass && l.status != Status::Skipped)
            .map(|l| {
                format!(
                    "{} {}: {}\n  fix: {}\n",
                    l.status,
                    l.id,
                    l.evidence.join("; "),
                    l.fix.clone().unwrap_or_default()
                )
            })
            .collect();
        expect.assert_eq(&failed);
    }
    let everything = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    check(everything, 1, expect![""]);
    check(everything, 0, expect![""]);
    let no_put = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","kms:*","sts:AssumeRole"],"Resource":"*"},{"Effect":"Deny","Action":"s3:PutObject","Resource":"*"}]}"#;
    check(
        no_put,
        1,
        expect![[r#"
        fail bucket:xacct-verify-data: the permissions boundary arn:aws:iam::222222222222:policy/org-boundary of arn:aws:iam::222222222222:role/MyRoleB does not allow s3:PutObject on arn:aws:s3:::xacct-verify-data/_xacct/verify
          fix: allow s3:PutObject on arn:aws:s3:::xacct-verify-data/_xacct/verify in the boundary policy arn:aws:iam::222222222222:policy/org-boundary (its default version; xacct never edits a boundary), or set `[roles] permissions_boundary` to a boundary that allows every action of the chain
    "#]],
    );
    let no_assume = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
    check(
        no_assume,
        0,
        expect![[r#"
        fail assume-a-to-b:222222222222: the permissions boundary arn:aws:iam::111111111111:policy/org-boundary of arn:aws:iam::111111111111:role/MyRoleA does not allow sts:AssumeRole on arn:aws:iam::222222222222:role/MyRoleB
          fix: allow sts:AssumeRole on arn:aws:iam::222222222222:role/MyRoleB in the boundary policy arn:aws:iam::111111111111:policy/org-boundary (its default version; xacct never edits a boundary), or set `[roles] permissions_boundary` to a boundary that allows every action of the chain
    "#]],
    );
    check(
        "-",
        0,
        expect![[r#"
        unchecked assume-a-to-b:222222222222: the permissions boundary arn:aws:iam::111111111111:policy/org-boundary of arn:aws:iam::111111111111:role/MyRoleA cannot be read
          fix: make the read possible (credentials, permissions, network) and run verify again
    "#]],
    );
}

/// A principal that IAM shows as a unique ID names a deleted role: in a statement of xacct's it
/// fails the link on its own, with re-provisioning as the fix; in a foreign statement of a link
/// that passes it is named in the evidence.
#[test]
fn rotted_principals_fail_their_link() {
    #[track_caller]
    fn check(edit: fn(&mut State), expect: Expect) {
        let flow = corpus::flow(KEY);
        let mut state = State::offline(&flow, &healthy_inputs(&flow));
        edit(&mut state);
        let report = crate::evaluate(&flow, &state);
        let out: String = report
            .links
            .iter()
            .filter(|l| l.evidence.iter().any(|e| e.contains("AROA")))
            .map(|l| {
                format!("{} {}: {}\n  fix: {}\n", l.status, l.id, l.evidence[0], l.fix.clone().unwrap_or_default())
            })
            .collect();
        expect.assert_eq(&out);
    }
    fn rot(doc: &mut PolicyDocument, sid_prefix: &str) {
        let s =
            doc.statement.iter_mut().find(|s| s.sid.as_deref().unwrap_or_default().starts_with(sid_prefix)).unwrap();
        s.principal = Some(serde_json::from_str(r#"{"AWS":"AROAEXAMPLEID1234567"}"#).unwrap());
    }
    check(
        |state| rot(&mut state.roles.get_mut("arn:aws:iam::222222222222:role/MyRoleB").unwrap().trust, "XacctTrust"),
        expect![[r#"
            fail trust-b:222222222222: statement `XacctTrust111111111111MyRoleA` of the trust policy of arn:aws:iam::222222222222:role/MyRoleB names `AROAEXAMPLEID1234567`, the unique ID of a role or user that was deleted: IAM shows the ID once the principal it was saved with is gone, and a role recreated under the same name has another ID
              fix: re-provision (`xacct provision`): it writes xacct's statements again with the role's ARN
        "#]],
    );
    check(
        |state| rot(state.buckets.get_mut("xacct-verify-data").unwrap().policy.as_mut().unwrap(), "XacctObjects"),
        expect![[r#"
            fail bucket:xacct-verify-data: statement `XacctObjectsMyRoleB` of the bucket policy of xacct-verify-data names `AROAEXAMPLEID1234567`, the unique ID of a role or user that was deleted: IAM shows the ID once the principal it was saved with is gone, and a role recreated under the same name has another ID
              fix: re-provision (`xacct provision`): it writes xacct's statements again with the role's ARN
        "#]],
    );
    check(
        |state| rot(state.keys.get_mut(KEY).unwrap(), "XacctKeyUser"),
        expect![[r#"
        fail kms:xacct-verify-data: statement `XacctKeyUserMyRoleB` of the key policy of arn:aws:kms:us-east-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab names `AROAEXAMPLEID1234567`, the unique ID of a role or user that was deleted: IAM shows the ID once the principal it was saved with is gone, and a role recreated under the same name has another ID
          fix: re-provision (`xacct provision`): it writes xacct's statements again with the role's ARN
    "#]],
    );
    check(
        |state| {
            let trust = &mut state.roles.get_mut("arn:aws:iam::222222222222:role/MyRoleB").unwrap().trust;
            let mut foreign = trust.statement[0].clone();
            foreign.sid = Some("Old".to_owned());
            trust.statement.push(foreign);
            rot(trust, "Old");
        },
        expect![[r#"
            pass trust-b:222222222222: Allow statement `XacctTrust111111111111MyRoleA` (resource) of account 222222222222 trust policy of role MyRoleB
              fix: 
        "#]],
    );
}
