//! The chain's vocabulary, shared by everything that names, checks or draws a link of
//! `cluster → instance profile → MyRoleA → MyRoleB → bucket (→ KMS key)`:
//!
//! - [`link`]: the link ids, and [`link_ids`] for a flow, in report order;
//! - [`LinkStatus`]: pass, fail, skipped (what the config leaves out) and unchecked (what should
//!   have been checked and could not be);
//! - [`LinkRequest`]: the requests each link must allow ([`passrole_request`],
//!   [`instance_profile_request`], [`assume_request`], [`bucket_requests`], [`kms_requests`]);
//! - [`s3a`]: the S3A keys, global with one owner role and per bucket with several;
//! - [`key_accesses`]: the widest access each KMS key must grant.
//!
//! ```
//! use policy_model::chain::{link, LinkStatus};
//! use policy_model::AccountId;
//!
//! let b = AccountId::new("222222222222")?;
//! assert_eq!(link::assume_a_to_b(&b), "assume-a-to-b:222222222222");
//! assert_eq!("unchecked".parse::<LinkStatus>(), Ok(LinkStatus::Unchecked));
//! # Ok::<(), policy_model::NameError>(())
//! ```

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use crate::arn::{AccountId, KmsKeyArn};
use crate::eval::Context;
use crate::flow::{Access, Bucket, Deployment, Flow, Owner};

/// The ids of the links of the chain. Live probes use ids of their own that start with `probe:`.
///
/// Each function takes the owner's account id or the bucket's name, checked
/// ([`crate::AccountId`], [`crate::BucketName`]) or as text.
pub mod link {
    use std::fmt::Display;

    /// The Databricks cross-account role may `iam:PassRole` the instance role.
    pub const PASSROLE: &str = "passrole";
    /// The instance profile exists, holds the instance role, and EC2 may assume the role.
    pub const INSTANCE_PROFILE: &str = "instance-profile";
    /// No SCP denies a request of the chain.
    pub const SCP: &str = "scp";
    /// Databricks has the instance profile registered and the cluster uses it with the S3A keys.
    pub const DATABRICKS: &str = "databricks";

    /// The instance role's policies allow `sts:AssumeRole` on this owner's role.
    pub fn assume_a_to_b(owner: &(impl Display + ?Sized)) -> String {
        format!("assume-a-to-b:{owner}")
    }
    /// This owner's role trusts the instance role.
    pub fn trust_b(owner: &(impl Display + ?Sized)) -> String {
        format!("trust-b:{owner}")
    }
    /// The bucket policy grants the owner's role its access.
    pub fn bucket(bucket: &(impl Display + ?Sized)) -> String {
        format!("bucket:{bucket}")
    }
    /// The bucket's KMS key lets the owner's role use it (only for buckets with a key).
    pub fn kms(bucket: &(impl Display + ?Sized)) -> String {
        format!("kms:{bucket}")
    }
    /// Unity Catalog mode: the owner's role trusts the master role with the external ID.
    pub fn uc_trust(owner: &(impl Display + ?Sized)) -> String {
        format!("uc-trust:{owner}")
    }
    /// Unity Catalog mode: the owner's role may assume itself with the external ID.
    pub fn uc_self_assume(owner: &(impl Display + ?Sized)) -> String {
        format!("uc-self-assume:{owner}")
    }
    /// Unity Catalog mode: the owner's role may do every action of the bucket's access level.
    pub fn uc_bucket(bucket: &(impl Display + ?Sized)) -> String {
        format!("uc-bucket:{bucket}")
    }
    /// Unity Catalog mode: the owner's role may use the bucket's key.
    pub fn uc_kms(bucket: &(impl Display + ?Sized)) -> String {
        format!("uc-kms:{bucket}")
    }
    /// Unity Catalog mode: Databricks holds the owner's storage credential on the owner's role.
    pub fn uc_credential(owner: &(impl Display + ?Sized)) -> String {
        format!("uc-credential:{owner}")
    }
    /// Unity Catalog mode: Databricks' validation of one operation on the bucket's location.
    pub fn uc_validation(bucket: &(impl Display + ?Sized), operation: &str) -> String {
        format!("uc-validate:{bucket}:{operation}")
    }
}

/// The offline link ids of the Unity Catalog owners, in report order: each owner's trust and
/// self-assume, then each bucket (and its key).
pub fn unity_link_ids(flow: &Flow) -> Vec<String> {
    let mut ids = Vec::new();
    for owner in flow.unity_owners() {
        ids.push(link::uc_trust(&owner.account_id));
        ids.push(link::uc_self_assume(&owner.account_id));
        for bucket in &owner.buckets {
            ids.push(link::uc_bucket(&bucket.name));
            if bucket.kms_key_arn.is_some() {
                ids.push(link::uc_kms(&bucket.name));
            }
        }
    }
    ids
}

/// Every link id of the flow, in the order a verify report lists them: passrole, the instance
/// profile, each owner's assume and trust links, each bucket (and its key), the SCPs, Databricks.
pub fn link_ids(flow: &Flow) -> Vec<String> {
    let mut ids = vec![link::PASSROLE.to_owned(), link::INSTANCE_PROFILE.to_owned()];
    for owner in flow.owners() {
        ids.push(link::assume_a_to_b(&owner.account_id));
        ids.push(link::trust_b(&owner.account_id));
    }
    for (_, bucket) in flow.buckets() {
        ids.push(link::bucket(&bucket.name));
        if bucket.kms_key_arn.is_some() {
            ids.push(link::kms(&bucket.name));
        }
    }
    ids.push(link::SCP.to_owned());
    ids.push(link::DATABRICKS.to_owned());
    ids
}

/// A link's result. Serialized as `pass`, `fail`, `skipped` or `unchecked`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkStatus {
    /// Every request of the link is allowed.
    Pass,
    /// A request of the link is refused; the fix says what to change.
    Fail,
    /// The config leaves the link out (no `cross_account_role`, no SCPs, no `[databricks]`).
    Skipped,
    /// The link should have been checked and could not be: a read failed, or there were no
    /// credentials. The evidence says why, in plain words.
    Unchecked,
}

impl LinkStatus {
    /// Every status, from best to worst.
    pub const ALL: [LinkStatus; 4] = [LinkStatus::Pass, LinkStatus::Skipped, LinkStatus::Unchecked, LinkStatus::Fail];

    /// `pass`, `fail`, `skipped` or `unchecked`.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkStatus::Pass => "pass",
            LinkStatus::Fail => "fail",
            LinkStatus::Skipped => "skipped",
            LinkStatus::Unchecked => "unchecked",
        }
    }

    /// How bad the status is, for showing the worst of several: pass, skipped, unchecked, fail.
    pub fn severity(self) -> u8 {
        match self {
            LinkStatus::Pass => 0,
            LinkStatus::Skipped => 1,
            LinkStatus::Unchecked => 2,
            LinkStatus::Fail => 3,
        }
    }
}

impl fmt::Display for LinkStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A link status that is not one of the four words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown link status `{0}`; expected pass, fail, skipped or unchecked")]
pub struct UnknownLinkStatus(pub String);

impl FromStr for LinkStatus {
    type Err = UnknownLinkStatus;
    fn from_str(s: &str) -> Result<Self, UnknownLinkStatus> {
        LinkStatus::ALL.into_iter().find(|l| l.as_str() == s).ok_or_else(|| UnknownLinkStatus(s.to_owned()))
    }
}

/// The key of the object the bucket links ask about; a live canary lives under the same prefix.
pub const PROBE_PREFIX: &str = "_xacct/";

/// One request a link must allow, as the chain sends it.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkRequest {
    /// Who calls: a role ARN or a service principal.
    pub principal: String,
    /// The action, `service:Name`.
    pub action: &'static str,
    /// The resource ARN.
    pub resource: String,
    /// The account that holds the resource.
    pub resource_account: AccountId,
    /// The condition keys the caller sends.
    pub context: Context,
}

/// The request of the `passrole` link, when the config names the cross-account role: it passes
/// the instance role to EC2.
pub fn passrole_request(flow: &Flow) -> Option<LinkRequest> {
    let d = flow.deployment()?;
    Some(LinkRequest {
        principal: d.cross_account_role_arn()?,
        action: "iam:PassRole",
        resource: d.instance_role_arn(),
        resource_account: d.account_id.clone(),
        context: Context::new().with("iam:PassedToService", "ec2.amazonaws.com"),
    })
}

/// The request of the `instance-profile` link: EC2 assumes the instance role. `None` for a flow
/// without account A.
pub fn instance_profile_request(flow: &Flow) -> Option<LinkRequest> {
    let d = flow.deployment()?;
    Some(LinkRequest {
        principal: "ec2.amazonaws.com".to_owned(),
        action: "sts:AssumeRole",
        resource: d.instance_role_arn(),
        resource_account: d.account_id.clone(),
        context: Context::new(),
    })
}

/// The request of an owner's `assume-a-to-b` and `trust-b` links: the instance role assumes the
/// owner's role. Without account A (no instance-profile owner), the principal is empty.
pub fn assume_request(flow: &Flow, owner: &Owner) -> LinkRequest {
    LinkRequest {
        principal: flow.deployment().map(Deployment::instance_role_arn).unwrap_or_default(),
        action: "sts:AssumeRole",
        resource: owner.role_arn(),
        resource_account: owner.account_id.clone(),
        context: Context::new(),
    }
}

/// The S3 actions a bucket's access needs, each with whether it acts on objects.
pub fn bucket_actions(access: Access) -> &'static [(&'static str, bool)] {
    const READ: [(&str, bool); 3] = [("s3:GetBucketLocation", false), ("s3:ListBucket", false), ("s3:GetObject", true)];
    const WRITE: [(&str, bool); 6] = [
        ("s3:GetBucketLocation", false),
        ("s3:ListBucket", false),
        ("s3:GetObject", true),
        ("s3:PutObject", true),
        ("s3:PutObjectAcl", true),
        ("s3:DeleteObject", true),
    ];
    match access {
        Access::ReadWrite => &WRITE,
        Access::ReadOnly => &READ,
    }
}

/// The requests of a `bucket` link: the owner's role lists the bucket and reads (and, for
/// read-write, writes with `bucket-owner-full-control`) an object under [`PROBE_PREFIX`], over TLS.
pub fn bucket_requests(owner: &Owner, bucket: &Bucket) -> Vec<LinkRequest> {
    let role = owner.role_arn();
    bucket_actions(bucket.access)
        .iter()
        .map(|&(action, on_object)| {
            let resource =
                if on_object { format!("{}/{PROBE_PREFIX}verify", bucket.name.arn()) } else { bucket.name.arn() };
            let mut context = Context::new().with("aws:SecureTransport", "true");
            if matches!(action, "s3:PutObject" | "s3:PutObjectAcl") {
                context = context.with("s3:x-amz-acl", "bucket-owner-full-control");
            }
            LinkRequest {
                principal: role.clone(),
                action,
                resource,
                resource_account: owner.account_id.clone(),
                context,
            }
        })
        .collect()
}

/// The KMS actions S3 calls on the key for an access: reads decrypt, writes also generate data keys.
pub fn kms_actions(access: Access) -> &'static [&'static str] {
    match access {
        Access::ReadWrite => &["kms:Decrypt", "kms:GenerateDataKey"],
        Access::ReadOnly => &["kms:Decrypt"],
    }
}

/// The requests of a `kms` link: S3, on behalf of the owner's role, uses the bucket's key in the
/// key's own region. Empty for a bucket without a key.
pub fn kms_requests(owner: &Owner, bucket: &Bucket) -> Vec<LinkRequest> {
    let Some(key) = &bucket.kms_key_arn else { return Vec::new() };
    let role = owner.role_arn();
    kms_actions(bucket.access)
        .iter()
        .map(|&action| LinkRequest {
            principal: role.clone(),
            action,
            resource: key.as_str().to_owned(),
            resource_account: owner.account_id.clone(),
            context: Context::new()
                .with("kms:ViaService", format!("s3.{}.amazonaws.com", key.region()))
                .with("kms:CallerAccount", owner.account_id.as_str())
                .with("aws:SecureTransport", "true"),
        })
        .collect()
}

/// The distinct KMS keys of an owner's buckets, in config order, each with the widest access of
/// the buckets it encrypts: one key may serve a read-only and a read-write bucket, and its key
/// policy then grants read-write. Linear in the number of buckets.
pub fn key_accesses(owner: &Owner) -> Vec<(&KmsKeyArn, Access)> {
    widest_per_key(owner.buckets.iter().map(|b| (b.kms_key_arn.as_ref(), b.access)))
}

/// The distinct keys among `(key, access)` pairs, in order, each with the widest access: the
/// rule of [`key_accesses`] for buckets of either access mode.
pub fn widest_per_key<'a>(
    buckets: impl Iterator<Item = (Option<&'a KmsKeyArn>, Access)>,
) -> Vec<(&'a KmsKeyArn, Access)> {
    let mut out: Vec<(&KmsKeyArn, Access)> = Vec::new();
    let mut index: HashMap<&KmsKeyArn, usize> = HashMap::new();
    for (key, access) in buckets {
        let Some(key) = key else { continue };
        match index.get(key) {
            Some(&i) => out[i].1 = out[i].1.widest(access),
            None => {
                index.insert(key, out.len());
                out.push((key, access));
            }
        }
    }
    out
}

/// The S3A settings of the chain as Hadoop keys (without the `spark.hadoop.` prefix).
///
/// With one bucket-owner role the runbook's global keys (`fs.s3a.credentialsType`, …) say
/// everything. With several, one global `stsAssumeRole.arn` can name only one of the roles, so
/// each bucket gets its own `fs.s3a.bucket.<bucket>.…` keys and assumes its own owner's role.
pub mod s3a {
    use crate::arn::BucketName;
    use crate::flow::Flow;

    /// Databricks' S3A option choosing how credentials are obtained.
    pub const CREDENTIALS_TYPE: &str = "credentialsType";
    /// Databricks' S3A option naming the role to assume.
    pub const STS_ASSUME_ROLE_ARN: &str = "stsAssumeRole.arn";
    /// The S3A option setting the canned ACL of every object written.
    pub const ACL_DEFAULT: &str = "acl.default";
    /// The three options xacct sets, globally or per bucket.
    pub const OPTIONS: [&str; 3] = [CREDENTIALS_TYPE, STS_ASSUME_ROLE_ARN, ACL_DEFAULT];
    /// The `credentialsType` value that makes Databricks assume `stsAssumeRole.arn`.
    pub const ASSUME_ROLE: &str = "AssumeRole";
    /// The canned ACL the runbook sets, in the Hadoop enum form Databricks documents.
    pub const BUCKET_OWNER_FULL_CONTROL: &str = "BucketOwnerFullControl";
    /// The prefix that turns a Hadoop key into a Spark conf key.
    pub const SPARK_HADOOP_PREFIX: &str = "spark.hadoop.";

    /// Whether the flow needs per-bucket keys: true when its buckets belong to more than one
    /// owner role, so that a single global `stsAssumeRole.arn` cannot serve them all. Owners have
    /// distinct accounts, so that is more than one owner with buckets.
    pub fn uses_per_bucket_keys(flow: &Flow) -> bool {
        flow.owners().iter().filter(|o| !o.buckets.is_empty()).nth(1).is_some()
    }

    /// `fs.s3a.<option>`, or `fs.s3a.bucket.<bucket>.<option>` for one bucket.
    pub fn key(bucket: Option<&BucketName>, option: &str) -> String {
        match bucket {
            Some(bucket) => format!("fs.s3a.bucket.{bucket}.{option}"),
            None => format!("fs.s3a.{option}"),
        }
    }

    /// The value xacct sets for `option` when `role_arn` is the role to assume.
    pub fn value<'a>(option: &str, role_arn: &'a str) -> &'a str {
        match option {
            CREDENTIALS_TYPE => ASSUME_ROLE,
            ACL_DEFAULT => BUCKET_OWNER_FULL_CONTROL,
            _ => role_arn,
        }
    }

    /// The three settings that assume `role_arn`, globally or for one bucket.
    pub fn assume_role_settings(bucket: Option<&BucketName>, role_arn: &str) -> [(String, String); 3] {
        OPTIONS.map(|option| (key(bucket, option), value(option, role_arn).to_owned()))
    }

    /// The S3A settings of the flow, in config order: the three global keys with one owner role,
    /// per-bucket keys with several, none without buckets.
    pub fn settings(flow: &Flow) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if uses_per_bucket_keys(flow) {
            for (owner, bucket) in flow.buckets() {
                out.extend(assume_role_settings(Some(&bucket.name), &owner.role_arn()));
            }
        } else if let Some(owner) = flow.owners().iter().find(|o| !o.buckets.is_empty()) {
            out.extend(assume_role_settings(None, &owner.role_arn()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;
    use crate::arn::{BucketName, RoleName};
    use crate::flow::{fixtures, Deployment};

    fn two_owners() -> Flow {
        let (region, deployment, mut owners) = fixtures::runbook().into_parts().unwrap();
        let key = |k: &str| Some(KmsKeyArn::new(&format!("arn:aws:kms:eu-west-1:333333333333:key/{k}")).unwrap());
        let bucket = |name: &str, access, kms_key_arn| Bucket {
            name: BucketName::new(name).unwrap(),
            access,
            kms_key_arn,
            mount: false,
        };
        owners.push(Owner {
            account_id: AccountId::new("333333333333").unwrap(),
            role: RoleName::new("DataReader").unwrap(),
            buckets: vec![
                bucket("raw", Access::ReadOnly, key("k1")),
                bucket("curated", Access::ReadWrite, key("k1")),
                bucket("other", Access::ReadOnly, key("k2")),
            ],
        });
        let deployment = Deployment { cross_account_role: None, ..deployment };
        Flow::new(region, deployment, owners).unwrap()
    }

    #[track_caller]
    fn check(got: &str, expect: expect_test::Expect) {
        expect.assert_eq(got);
    }

    #[test]
    fn ids_in_report_order() {
        check(
            &link_ids(&two_owners()).join(" "),
            expect!["passrole instance-profile assume-a-to-b:222222222222 trust-b:222222222222 assume-a-to-b:333333333333 trust-b:333333333333 bucket:my-bucket bucket:raw kms:raw bucket:curated kms:curated bucket:other kms:other scp databricks"],
        );
    }

    #[test]
    fn statuses_round_trip() {
        for status in LinkStatus::ALL {
            assert_eq!(status.as_str().parse::<LinkStatus>(), Ok(status));
            assert_eq!(serde_json::to_string(&status).unwrap(), format!("\"{status}\""));
        }
        check(
            &"ok".parse::<LinkStatus>().unwrap_err().to_string(),
            expect!["unknown link status `ok`; expected pass, fail, skipped or unchecked"],
        );
    }

    #[test]
    fn widest_access_per_key() {
        let flow = two_owners();
        let got: Vec<String> =
            key_accesses(&flow.owners()[1]).iter().map(|(k, a)| format!("{k} {}", a.as_str())).collect();
        check(
            &got.join("\n"),
            expect![[r#"
                arn:aws:kms:eu-west-1:333333333333:key/k1 read-write
                arn:aws:kms:eu-west-1:333333333333:key/k2 read-only"#]],
        );
    }

    #[test]
    fn requests() {
        let flow = two_owners();
        let owner = &flow.owners()[1];
        let mut lines = Vec::new();
        let mut show = |r: &LinkRequest| {
            lines.push(format!(
                "{} {} {} {} {:?}",
                r.principal,
                r.action,
                r.resource,
                r.resource_account,
                r.context.get("kms:ViaService")
            ))
        };
        show(&instance_profile_request(&flow).unwrap());
        show(&assume_request(&flow, owner));
        bucket_requests(owner, &owner.buckets[0]).iter().for_each(&mut show);
        kms_requests(owner, &owner.buckets[1]).iter().for_each(&mut show);
        assert!(passrole_request(&flow).is_none());
        check(
            &lines.join("\n"),
            expect![[r#"
                ec2.amazonaws.com sts:AssumeRole arn:aws:iam::111111111111:role/MyRoleA 111111111111 None
                arn:aws:iam::111111111111:role/MyRoleA sts:AssumeRole arn:aws:iam::333333333333:role/DataReader 333333333333 None
                arn:aws:iam::333333333333:role/DataReader s3:GetBucketLocation arn:aws:s3:::raw 333333333333 None
                arn:aws:iam::333333333333:role/DataReader s3:ListBucket arn:aws:s3:::raw 333333333333 None
                arn:aws:iam::333333333333:role/DataReader s3:GetObject arn:aws:s3:::raw/_xacct/verify 333333333333 None
                arn:aws:iam::333333333333:role/DataReader kms:Decrypt arn:aws:kms:eu-west-1:333333333333:key/k1 333333333333 Some(Single("s3.eu-west-1.amazonaws.com"))
                arn:aws:iam::333333333333:role/DataReader kms:GenerateDataKey arn:aws:kms:eu-west-1:333333333333:key/k1 333333333333 Some(Single("s3.eu-west-1.amazonaws.com"))"#]],
        );
    }

    #[test]
    fn s3a_keys_per_bucket_with_several_owners() {
        assert!(!s3a::uses_per_bucket_keys(&fixtures::runbook()));
        assert!(s3a::uses_per_bucket_keys(&two_owners()));
        let one: Vec<String> = s3a::settings(&fixtures::runbook()).iter().map(|(k, v)| format!("{k} {v}")).collect();
        check(
            &one.join("\n"),
            expect![[r#"
                fs.s3a.credentialsType AssumeRole
                fs.s3a.stsAssumeRole.arn arn:aws:iam::222222222222:role/MyRoleB
                fs.s3a.acl.default BucketOwnerFullControl"#]],
        );
        assert_eq!(s3a::settings(&two_owners()).len(), 12);
    }
}
