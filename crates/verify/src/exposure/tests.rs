//! The findings on planted foreign statements: one line per finding, or `none`.

use expect_test::{expect, Expect};
use policy_model::{merge, PolicyDocument};

use super::*;
use crate::corpus;
use crate::state::{OfflineInputs, Role};

const KEY: &str = "arn:aws:kms:us-east-1:222222222222:key/data";

fn doc(statements: &str) -> PolicyDocument {
    PolicyDocument::from_json(&format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#)).unwrap()
}

/// The state `provision` would leave with `statements` in the bucket policy, the trust policy of
/// MyRoleB or the key policy (each merged with ours, as provision merges).
fn state(kind: ResourceKind, statements: &str) -> (Flow, State) {
    let flow = corpus::flow(KEY);
    let mut inputs = OfflineInputs::default();
    match kind {
        ResourceKind::Bucket => {
            inputs.bucket_policies.insert(corpus::BUCKET.to_owned(), doc(statements));
        }
        ResourceKind::Kms => {
            let mut base = default_key_policy_doc();
            base.statement.extend(doc(statements).statement);
            inputs.key_policies.insert(KEY.to_owned(), base);
        }
        ResourceKind::Trust => {}
    }
    let mut state = State::offline(&flow, &inputs);
    if kind == ResourceKind::Trust {
        let role = flow.owners()[0].role_arn();
        let ours = policy_model::build::owner_trust_policy(&flow);
        let trust = merge::merge(Some(&doc(statements)), &ours.statement, merge::TRUST_POLICY_LIMIT).unwrap();
        state.roles.insert(role, Role { trust, policies: Vec::new(), boundary: None });
    }
    (flow, state)
}

fn default_key_policy_doc() -> PolicyDocument {
    crate::state::default_key_policy(corpus::B)
}

fn lines(report: &Exposure) -> String {
    let mut out: String =
        report.findings.iter().map(|f| format!("{f}{}\n", if f.accepted { " [accepted]" } else { "" })).collect();
    for u in &report.unchecked {
        out.push_str(&format!("unchecked {}: {}\n", u.resource, u.why));
    }
    if out.is_empty() {
        out.push_str("none\n");
    }
    out
}

#[track_caller]
fn check(kind: ResourceKind, statements: &str, expect: Expect) {
    let (flow, state) = state(kind, statements);
    let report = exposure(&flow, &state, &[]);
    assert_eq!(report.ok, report.findings.is_empty() && report.unchecked.is_empty());
    expect.assert_eq(&lines(&report));
}

#[test]
fn the_chain_alone_has_no_finding() {
    check(ResourceKind::Bucket, "", expect!["none\n"]);
    check(ResourceKind::Trust, "", expect!["none\n"]);
    check(ResourceKind::Kms, "", expect!["none\n"]);
}

#[test]
fn bucket_findings() {
    // A third account's root.
    check(
        ResourceKind::Bucket,
        r#"{"Sid":"Partner","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444444444444:root"},"Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::xacct-verify-data","arn:aws:s3:::xacct-verify-data/*"]}"#,
        expect![[r#"
            account arn:aws:iam::444444444444:root (bucket) may s3:GetObject, s3:ListBucket on arn:aws:s3:::xacct-verify-data by statement `Partner`
        "#]],
    );
    // A public read on a prefix.
    check(
        ResourceKind::Bucket,
        r#"{"Sid":"PublicReports","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::xacct-verify-data/public/*"}"#,
        expect![[r#"
            public * (bucket) may s3:GetObject on arn:aws:s3:::xacct-verify-data by statement `PublicReports`
        "#]],
    );
    // `*` limited to an organization is an organization grant.
    check(
        ResourceKind::Bucket,
        r#"{"Sid":"Org","Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::xacct-verify-data/*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abc123def4"}}}"#,
        expect![[r#"
            organization o-abc123def4 (bucket) may s3:GetObject on arn:aws:s3:::xacct-verify-data by statement `Org` when StringEquals aws:PrincipalOrgID = o-abc123def4
        "#]],
    );
    check(
        ResourceKind::Bucket,
        r#"{"Sid":"OrgPath","Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::xacct-verify-data","Condition":{"ForAnyValue:StringLike":{"aws:PrincipalOrgPaths":"o-abc123def4/r-ab12/ou-ab12-11111111/*"}}}"#,
        expect![[r#"
            organization o-abc123def4/r-ab12/ou-ab12-11111111/* (bucket) may s3:ListBucket on arn:aws:s3:::xacct-verify-data by statement `OrgPath` when ForAnyValue:StringLike aws:PrincipalOrgPaths = o-abc123def4/r-ab12/ou-ab12-11111111/*
        "#]],
    );
    // Removed by a later Deny: no finding.
    check(
        ResourceKind::Bucket,
        r#"{"Sid":"Partner","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444444444444:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::xacct-verify-data/*"},
           {"Sid":"NoPartner","Effect":"Deny","Principal":{"AWS":"arn:aws:iam::444444444444:root"},"Action":"s3:*","Resource":"arn:aws:s3:::xacct-verify-data/*"}"#,
        expect!["none\n"],
    );
    // A Deny on some actions removes only those.
    check(
        ResourceKind::Bucket,
        r#"{"Sid":"Everything","Effect":"Allow","Principal":{"AWS":"444444444444"},"Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::xacct-verify-data/*"},
           {"Sid":"ReadOnly","Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::xacct-verify-data/*","Condition":{"StringNotEquals":{"aws:PrincipalAccount":"222222222222"}}}"#,
        expect![[r#"
            account 444444444444 (bucket) may s3:GetObject on arn:aws:s3:::xacct-verify-data by statement `Everything`
        "#]],
    );
    // An Allow with NotPrincipal lets everyone else in.
    check(
        ResourceKind::Bucket,
        r#"{"Sid":"AllButOne","Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::444444444444:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::xacct-verify-data/*"}"#,
        expect![[r#"
            public * (bucket) may s3:GetObject on arn:aws:s3:::xacct-verify-data by statement `AllButOne`
        "#]],
    );
    // A Deny for everyone but the owner's role removes every foreign grant.
    check(
        ResourceKind::Bucket,
        r#"{"Sid":"Partner","Effect":"Allow","Principal":{"AWS":"444444444444"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::xacct-verify-data/*"},
           {"Sid":"OnlyOurRole","Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::222222222222:role/MyRoleB","arn:aws:iam::222222222222:root"]},"Action":"s3:*","Resource":["arn:aws:s3:::xacct-verify-data","arn:aws:s3:::xacct-verify-data/*"]}"#,
        expect!["none\n"],
    );
    // Conditions that can never hold for the principal: `*` narrowed to the owner's account.
    check(
        ResourceKind::Bucket,
        r#"{"Sid":"OwnAccount","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::xacct-verify-data/*","Condition":{"StringEquals":{"aws:PrincipalAccount":"222222222222"}}}"#,
        expect!["none\n"],
    );
    // `*` narrowed to one foreign role is that role; conditions the caller controls still let it in.
    check(
        ResourceKind::Bucket,
        r#"{"Sid":"Etl","Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::xacct-verify-data/in/*","Condition":{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::555555555555:role/etl"},"Bool":{"aws:SecureTransport":"true"}}}"#,
        expect![[r#"
            role arn:aws:iam::555555555555:role/etl (bucket) may s3:PutObject on arn:aws:s3:::xacct-verify-data by statement `Etl` when ArnEquals aws:PrincipalArn = arn:aws:iam::555555555555:role/etl; Bool aws:SecureTransport = true
        "#]],
    );
    // Public only from a network range is still public; the conditions say where from.
    check(
        ResourceKind::Bucket,
        r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::xacct-verify-data/*","Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}"#,
        expect![[r#"
            public * (bucket) may s3:GetObject on arn:aws:s3:::xacct-verify-data by statement `0` when IpAddress aws:SourceIp = 203.0.113.0/24
        "#]],
    );
    // The owner's own principals and the chain's roles are not findings.
    check(
        ResourceKind::Bucket,
        r#"{"Sid":"Admins","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::222222222222:root","arn:aws:iam::222222222222:role/admin","arn:aws:iam::111111111111:role/MyRoleA"]},"Action":"s3:*","Resource":"arn:aws:s3:::xacct-verify-data/*"}"#,
        expect!["none\n"],
    );
    // Services, users and wildcards of actions.
    check(
        ResourceKind::Bucket,
        r#"{"Sid":"Logs","Effect":"Allow","Principal":{"Service":"logging.s3.amazonaws.com"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::xacct-verify-data/logs/*"},
           {"Sid":"OwnLogs","Effect":"Allow","Principal":{"Service":"delivery.logs.amazonaws.com"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::xacct-verify-data/*","Condition":{"StringEquals":{"aws:SourceAccount":"222222222222"}}},
           {"Sid":"Auditor","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::666666666666:user/auditor"},"Action":"s3:GetBucket*","Resource":"arn:aws:s3:::xacct-verify-data"}"#,
        expect![[r#"
            service logging.s3.amazonaws.com (bucket) may s3:PutObject on arn:aws:s3:::xacct-verify-data by statement `Logs`
            user arn:aws:iam::666666666666:user/auditor (bucket) may s3:GetBucketAcl, s3:GetBucketLocation, s3:GetBucketPolicy on arn:aws:s3:::xacct-verify-data by statement `Auditor`
        "#]],
    );
}

#[test]
fn trust_findings() {
    check(
        ResourceKind::Trust,
        r#"{"Sid":"Legacy","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::777777777777:root"},"Action":"sts:AssumeRole"}"#,
        expect![[r#"
            account arn:aws:iam::777777777777:root (trust) may sts:AssumeRole on arn:aws:iam::222222222222:role/MyRoleB by statement `Legacy`
        "#]],
    );
    // An external ID is a condition the caller supplies: still a finding, with the condition shown.
    check(
        ResourceKind::Trust,
        r#"{"Sid":"Vendor","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::777777777777:role/vendor"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"abc"}}}"#,
        expect![[r#"
            role arn:aws:iam::777777777777:role/vendor (trust) may sts:AssumeRole on arn:aws:iam::222222222222:role/MyRoleB by statement `Vendor` when StringEquals sts:ExternalId = abc
        "#]],
    );
    check(
        ResourceKind::Trust,
        r#"{"Sid":"Anyone","Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}"#,
        expect![[r#"
            public * (trust) may sts:AssumeRole on arn:aws:iam::222222222222:role/MyRoleB by statement `Anyone`
        "#]],
    );
    // A web identity provider of the owner's own account still lets outside identities in.
    check(
        ResourceKind::Trust,
        r#"{"Sid":"GitHub","Effect":"Allow","Principal":{"Federated":"arn:aws:iam::222222222222:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"repo:acme/*"}}}"#,
        expect![[r#"
            user arn:aws:iam::222222222222:oidc-provider/token.actions.githubusercontent.com (trust) may sts:AssumeRoleWithWebIdentity on arn:aws:iam::222222222222:role/MyRoleB by statement `GitHub` when StringLike token.actions.githubusercontent.com:sub = repo:acme/*
        "#]],
    );
    check(
        ResourceKind::Trust,
        r#"{"Sid":"Ec2","Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}"#,
        expect![[r#"
            service ec2.amazonaws.com (trust) may sts:AssumeRole on arn:aws:iam::222222222222:role/MyRoleB by statement `Ec2`
        "#]],
    );
}

#[test]
fn kms_findings() {
    check(
        ResourceKind::Kms,
        r#"{"Sid":"PartnerDecrypt","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::888888888888:root"},"Action":"kms:Decrypt","Resource":"*"}"#,
        expect![[r#"
            account arn:aws:iam::888888888888:root (kms) may kms:Decrypt on arn:aws:kms:us-east-1:222222222222:key/data by statement `PartnerDecrypt`
        "#]],
    );
    check(
        ResourceKind::Kms,
        r#"{"Sid":"Wide","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::888888888888:role/ops"},"Action":"kms:*","Resource":"*"},
           {"Sid":"NoDelete","Effect":"Deny","Principal":"*","Action":["kms:ScheduleKeyDeletion","kms:PutKeyPolicy","kms:DisableKey","kms:CreateGrant"],"Resource":"*"}"#,
        expect![[r#"
            role arn:aws:iam::888888888888:role/ops (kms) may kms:Decrypt, kms:DescribeKey, kms:Encrypt, kms:GenerateDataKey, kms:ReEncryptFrom, kms:ReEncryptTo on arn:aws:kms:us-east-1:222222222222:key/data by statement `Wide`
        "#]],
    );
}

#[test]
fn accepted_findings_and_unchecked_resources() {
    let statements = r#"{"Sid":"Partner","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444444444444:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::xacct-verify-data/*"},
        {"Sid":"Public","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::xacct-verify-data/public/*"}"#;
    let (flow, mut state) = state(ResourceKind::Bucket, statements);
    // An account ID accepts the root ARN; `*` accepts public grants.
    let report = exposure(&flow, &state, &["444444444444".to_owned()]);
    assert!(!report.ok);
    expect![[r#"
        account arn:aws:iam::444444444444:root (bucket) may s3:GetObject on arn:aws:s3:::xacct-verify-data by statement `Partner` [accepted]
        public * (bucket) may s3:GetObject on arn:aws:s3:::xacct-verify-data by statement `Public`
    "#]]
    .assert_eq(&lines(&report));
    let report = exposure(&flow, &state, &["arn:aws:iam::444444444444:root".to_owned(), "*".to_owned()]);
    assert!(report.ok, "{}", lines(&report));
    assert_eq!(report.exit_code(), 0);

    // A resource that could not be read is never taken as clean.
    state.unreadable.insert(flow.owners()[0].role_arn(), "AccessDenied".to_owned());
    let report = exposure(&flow, &state, &["444444444444".to_owned(), "*".to_owned()]);
    assert!(!report.ok);
    assert_eq!(report.exit_code(), 1);
    assert_eq!(report.unchecked, [Unchecked { resource: flow.owners()[0].role_arn(), why: "AccessDenied".to_owned() }]);
}

#[test]
fn json_shape() {
    let (flow, state) = state(
        ResourceKind::Kms,
        r#"{"Sid":"PartnerDecrypt","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::888888888888:root"},"Action":"kms:Decrypt","Resource":"*"}"#,
    );
    let json = serde_json::to_string(&exposure(&flow, &state, &[])).unwrap();
    expect![[r#"{"ok":false,"findings":[{"resource":"arn:aws:kms:us-east-1:222222222222:key/data","kind":"kms","principal":"arn:aws:iam::888888888888:root","principal_kind":"account","actions":["kms:Decrypt"],"statement":"PartnerDecrypt","conditions":"","accepted":false}],"unchecked":[]}"#]]
    .assert_eq(&json);
}

/// The corpus: each case alone, then every case of a kind in one document, gives its findings.
#[test]
fn corpus_cases_alone_and_together() {
    let flow = corpus::flow(KEY);
    let cases = super::corpus::cases(&flow);
    assert!(cases.iter().all(|c| !c.statements.is_empty()), "a corpus case does not parse");
    let run = |chosen: &[super::corpus::Case]| -> Vec<String> {
        let mut inputs = OfflineInputs::default();
        let bucket = super::corpus::planted(chosen, ResourceKind::Bucket, None);
        inputs.bucket_policies.insert(corpus::BUCKET.to_owned(), bucket);
        let key = super::corpus::planted(chosen, ResourceKind::Kms, Some(&default_key_policy_doc()));
        inputs.key_policies.insert(KEY.to_owned(), key);
        let mut state = State::offline(&flow, &inputs);
        let trust = super::corpus::planted(chosen, ResourceKind::Trust, None);
        let ours = policy_model::build::owner_trust_policy(&flow);
        let trust = merge::merge(Some(&trust), &ours.statement, merge::TRUST_POLICY_LIMIT).unwrap();
        state.roles.insert(flow.owners()[0].role_arn(), Role { trust, policies: Vec::new(), boundary: None });
        let mut got: Vec<String> = exposure(&flow, &state, &[]).findings.iter().map(super::corpus::brief).collect();
        got.sort();
        got
    };
    for case in &cases {
        let mut want = case.expected.clone();
        want.sort();
        assert_eq!(run(std::slice::from_ref(case)), want, "{}", case.name);
    }
    let mut all: Vec<String> = cases.iter().flat_map(|c| c.expected.clone()).collect();
    all.sort();
    assert_eq!(run(&cases), all);
    assert!(all.len() >= 8, "{all:?}");
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    /// A foreign bucket statement from a small vocabulary: every principal form, wildcard
    /// actions and resources, conditions on who calls and on what the caller controls.
    fn statement() -> impl Strategy<Value = String> {
        let effect = prop_oneof![Just("Allow"), Just("Allow"), Just("Deny")];
        let principal = prop::sample::select(vec![
            r#""Principal":"*""#,
            r#""Principal":{"AWS":"arn:aws:iam::444444444444:root"}"#,
            r#""Principal":{"AWS":"555555555555"}"#,
            r#""Principal":{"AWS":"arn:aws:iam::555555555555:role/etl"}"#,
            r#""Principal":{"AWS":"arn:aws:iam::222222222222:root"}"#,
            r#""Principal":{"AWS":"arn:aws:iam::222222222222:role/MyRoleB"}"#,
            r#""Principal":{"Service":"logging.s3.amazonaws.com"}"#,
            r#""NotPrincipal":{"AWS":"arn:aws:iam::444444444444:root"}"#,
        ]);
        let action = prop::sample::select(vec![
            r#""s3:*""#,
            r#""s3:GetObject""#,
            r#""s3:Put*""#,
            r#"["s3:ListBucket","s3:GetObject"]"#,
        ]);
        let resource = prop::sample::select(vec![
            r#""arn:aws:s3:::xacct-verify-data/*""#,
            r#""arn:aws:s3:::xacct-verify-data/public/*""#,
            r#"["arn:aws:s3:::xacct-verify-data","arn:aws:s3:::xacct-verify-data/*"]"#,
            r#""*""#,
        ]);
        let condition = prop::sample::select(vec![
            "",
            r#","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abc123def4"}}"#,
            r#","Condition":{"StringNotEquals":{"aws:PrincipalAccount":"222222222222"}}"#,
            r#","Condition":{"Bool":{"aws:SecureTransport":"false"}}"#,
            r#","Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}"#,
            r#","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::555555555555:role/*"}}"#,
        ]);
        (effect, principal, action, resource, condition, 0..1000u32).prop_map(|(e, p, a, r, c, n)| {
            format!(r#"{{"Sid":"S{n}","Effect":"{e}",{p},"Action":{a},"Resource":{r}{c}}}"#)
        })
    }

    fn findings(statements: &[String]) -> Exposure {
        let (flow, state) = state(ResourceKind::Bucket, &statements.join(","));
        exposure(&flow, &state, &[])
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// Whatever the foreign statements: no finding names the chain or the owner's account,
        /// a blanket Deny at the end removes every finding, and without Allow statements there
        /// is none.
        #[test]
        fn findings_respect_the_rules(statements in proptest::collection::vec(statement(), 0..6)) {
            let report = findings(&statements);
            for f in &report.findings {
                prop_assert!(!f.principal.contains("222222222222"), "{f}");
                prop_assert!(!f.principal.contains("MyRoleA"), "{f}");
                prop_assert!(!f.actions.is_empty(), "{f}");
            }
            let mut denied = statements.clone();
            denied.push(r#"{"Sid":"NobodyElse","Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::222222222222:role/MyRoleB","arn:aws:iam::222222222222:root"]},"Action":"s3:*","Resource":["arn:aws:s3:::xacct-verify-data","arn:aws:s3:::xacct-verify-data/*"]}"#.to_owned());
            prop_assert_eq!(findings(&denied).findings, Vec::new());
            let denies: Vec<String> = statements.iter().filter(|s| s.contains(r#""Effect":"Deny""#)).cloned().collect();
            prop_assert_eq!(findings(&denies).findings, Vec::new());
        }
    }
}

/// A Unity Catalog owner: the master role with its external ID and the role's own self-assume
/// are the chain, not findings; a partner account planted in the same trust is one.
#[test]
fn unity_catalog_trust() {
    use policy_model::unity::{self, UnityBucket, UnityOwner};
    use policy_model::{Access, AccountId, BucketName, FlowParts, OwnerEntry, RoleName};
    let owner = UnityOwner {
        account_id: AccountId::new("333333333333").unwrap(),
        role: RoleName::new("uc-lake-access").unwrap(),
        storage_credential: "uc_lake_access".to_owned(),
        buckets: vec![UnityBucket {
            name: BucketName::new("curated-lake").unwrap(),
            access: Access::ReadOnly,
            kms_key_arn: None,
            external_location: "curated_lake".to_owned(),
            prefix: String::new(),
            grants: Vec::new(),
        }],
    };
    let flow = Flow::build(FlowParts {
        region: "us-east-1".to_owned(),
        deployment: None,
        owners: vec![OwnerEntry::UnityCatalog(owner.clone())],
        uc_master_role_arn: None,
    })
    .unwrap();
    let findings = |partner: bool| {
        let mut state = State::offline(&flow, &OfflineInputs::default());
        let mut trust = unity::trust_policy(&owner, flow.uc_master_role_arn(), Some("the-external-id"));
        if partner {
            trust.statement.extend(
                doc(r#"{"Sid":"Partner","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444444444444:root"},"Action":"sts:AssumeRole"}"#)
                    .statement,
            );
        }
        state.roles.get_mut(&owner.role_arn()).unwrap().trust = trust;
        lines(&exposure(&flow, &state, &[]))
    };
    expect!["none\n"].assert_eq(&findings(false));
    expect![[r#"
        account arn:aws:iam::444444444444:root (trust) may sts:AssumeRole on arn:aws:iam::333333333333:role/uc-lake-access by statement `Partner`
    "#]]
    .assert_eq(&findings(true));
}
