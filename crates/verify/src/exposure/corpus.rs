//! The exposures `exposure` must find, and the grants it must not report, as data that both the
//! offline state and a live deployment can be given: each case is statements to plant in a
//! bucket policy, the owner role's trust policy or a key policy, and the findings they make.
//!
//! The cases compose: every `Deny` names only its own case's principal, so all the cases of a
//! kind planted in one document give the union of their findings.

use policy_model::{Flow, PolicyDocument, Statement};

use super::{Finding, ResourceKind};

/// One planted exposure (or a grant that is not one).
#[derive(Debug, Clone)]
pub struct Case {
    /// A short name for test output.
    pub name: &'static str,
    /// The policy the statements go into.
    pub kind: ResourceKind,
    /// The statements, foreign to xacct.
    pub statements: Vec<Statement>,
    /// The findings they make, each as [`brief`] writes it; empty for a grant that is not one.
    pub expected: Vec<String>,
}

/// A finding in one line: policy kind, principal kind, principal, actions, statement.
pub fn brief(f: &Finding) -> String {
    format!(
        "{} {} {} [{}] {}",
        f.kind.as_str(),
        f.principal_kind.as_str(),
        f.principal,
        f.actions.join(","),
        f.statement
    )
}

/// The cases for the first owner and its first bucket of `flow`.
pub fn cases(flow: &Flow) -> Vec<Case> {
    let a = flow.deployment().map(|d| d.account_id.as_str().to_owned()).unwrap_or_default();
    let instance_role = flow.deployment().map(|d| d.instance_role_arn()).unwrap_or_default();
    let owner = flow.owners().first();
    let b = owner.map(|o| o.account_id.as_str().to_owned()).unwrap_or_default();
    let bucket = owner.and_then(|o| o.buckets.first()).map(|b| b.name.as_str().to_owned()).unwrap_or_default();
    let case = |name, kind, json: String, expected: &[&str]| Case {
        name,
        kind,
        statements: statements(&json),
        expected: expected.iter().map(|e| (*e).to_owned()).collect(),
    };
    vec![
        case(
            "a third account's root on the bucket",
            ResourceKind::Bucket,
            format!(
                r#"{{"Sid":"Partner","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::444444444444:root"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::{bucket}/*"}}"#
            ),
            &["bucket account arn:aws:iam::444444444444:root [s3:GetObject] Partner"],
        ),
        case(
            "a public s3:GetObject on a prefix",
            ResourceKind::Bucket,
            format!(
                r#"{{"Sid":"PublicReports","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::{bucket}/public/*"}}"#
            ),
            &["bucket public * [s3:GetObject] PublicReports"],
        ),
        case(
            "* limited by aws:PrincipalOrgID is an organization grant",
            ResourceKind::Bucket,
            format!(
                r#"{{"Sid":"OrgRead","Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::{bucket}","Condition":{{"StringEquals":{{"aws:PrincipalOrgID":"o-abc123def4"}}}}}}"#
            ),
            &["bucket organization o-abc123def4 [s3:ListBucket] OrgRead"],
        ),
        case(
            "a grant a later Deny removes",
            ResourceKind::Bucket,
            format!(
                r#"{{"Sid":"Former","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::999999999990:root"}},"Action":"s3:PutObject","Resource":"arn:aws:s3:::{bucket}/*"}},
                   {{"Sid":"FormerRevoked","Effect":"Deny","Principal":{{"AWS":"arn:aws:iam::999999999990:root"}},"Action":"s3:*","Resource":["arn:aws:s3:::{bucket}","arn:aws:s3:::{bucket}/*"]}}"#
            ),
            &[],
        ),
        case(
            "* under a condition that only the owner's account meets",
            ResourceKind::Bucket,
            format!(
                r#"{{"Sid":"OwnAccountOnly","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::{bucket}/*","Condition":{{"StringEquals":{{"aws:PrincipalAccount":"{b}"}}}}}}"#
            ),
            &[],
        ),
        case(
            "* narrowed to one foreign role by aws:PrincipalArn",
            ResourceKind::Bucket,
            format!(
                r#"{{"Sid":"Etl","Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::{bucket}/in/*","Condition":{{"ArnEquals":{{"aws:PrincipalArn":"arn:aws:iam::555555555555:role/etl"}},"Bool":{{"aws:SecureTransport":"true"}}}}}}"#
            ),
            &["bucket role arn:aws:iam::555555555555:role/etl [s3:PutObject] Etl"],
        ),
        case(
            "the chain's principals and the owner's own account",
            ResourceKind::Bucket,
            format!(
                r#"{{"Sid":"Admins","Effect":"Allow","Principal":{{"AWS":["arn:aws:iam::{b}:root","arn:aws:iam::{b}:role/admin","{instance_role}"]}},"Action":"s3:*","Resource":"arn:aws:s3:::{bucket}/*"}}"#
            ),
            &[],
        ),
        case(
            "the owner role's trust also names another account",
            ResourceKind::Trust,
            r#"{"Sid":"Legacy","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::777777777777:root"},"Action":"sts:AssumeRole"}"#
                .to_owned(),
            &["trust account arn:aws:iam::777777777777:root [sts:AssumeRole] Legacy"],
        ),
        case(
            "a vendor role with an external id",
            ResourceKind::Trust,
            r#"{"Sid":"Vendor","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::777777777777:role/vendor"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"vendor-42"}}}"#
                .to_owned(),
            &["trust role arn:aws:iam::777777777777:role/vendor [sts:AssumeRole] Vendor"],
        ),
        case(
            "the chain's own account A in the trust is its instance role only",
            ResourceKind::Trust,
            format!(
                r#"{{"Sid":"Again","Effect":"Allow","Principal":{{"AWS":"{instance_role}"}},"Action":"sts:AssumeRole","Condition":{{"StringLike":{{"aws:PrincipalArn":"arn:aws:iam::{a}:role/*"}}}}}}"#
            ),
            &[],
        ),
        case(
            "a key policy lets another account decrypt",
            ResourceKind::Kms,
            r#"{"Sid":"PartnerDecrypt","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::888888888888:root"},"Action":"kms:Decrypt","Resource":"*"}"#
                .to_owned(),
            &["kms account arn:aws:iam::888888888888:root [kms:Decrypt] PartnerDecrypt"],
        ),
        case(
            "a foreign key user whose key administration is denied",
            ResourceKind::Kms,
            r#"{"Sid":"Ops","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::888888888888:role/ops"},"Action":"kms:*","Resource":"*"},
               {"Sid":"OpsNoAdmin","Effect":"Deny","Principal":{"AWS":"arn:aws:iam::888888888888:role/ops"},"Action":["kms:ScheduleKeyDeletion","kms:PutKeyPolicy","kms:DisableKey","kms:CreateGrant"],"Resource":"*"}"#
                .to_owned(),
            &["kms role arn:aws:iam::888888888888:role/ops [kms:Decrypt,kms:DescribeKey,kms:Encrypt,kms:GenerateDataKey,kms:ReEncryptFrom,kms:ReEncryptTo] Ops"],
        ),
    ]
}

/// Every case of `kind` in one document, after `base`'s statements.
pub fn planted(cases: &[Case], kind: ResourceKind, base: Option<&PolicyDocument>) -> PolicyDocument {
    let mut doc = base.cloned().unwrap_or_else(|| PolicyDocument::new(Vec::new()));
    doc.statement.extend(cases.iter().filter(|c| c.kind == kind).flat_map(|c| c.statements.iter().cloned()));
    doc
}

fn statements(json: &str) -> Vec<Statement> {
    // The cases are written here; a typo in one fails every test that uses the corpus.
    PolicyDocument::from_json(&format!(r#"{{"Version":"2012-10-17","Statement":[{json}]}}"#))
        .map(|d| d.statement)
        .unwrap_or_default()
}
