//! The rules AWS applies whatever the policies say.
//!
//! - `sts:GetCallerIdentity` needs no permission: "No permissions are required to perform this
//!   operation. If an administrator attaches a policy to your identity that explicitly denies
//!   access to the `sts:GetCallerIdentity` action, you can still perform this operation"
//!   (AWS STS API Reference, GetCallerIdentity). It needs a signed request.
//! - Nobody may change an AWS-managed policy (`arn:aws:iam::aws:policy/…`): "You cannot change
//!   the permissions defined in AWS managed policies" (IAM User Guide, "AWS managed policies").
//! - Nobody may change a service-linked role's trust, permissions or boundary, or delete it
//!   other than through `iam:DeleteServiceLinkedRole`: "the service defines the permissions of
//!   its service-linked roles" and only the description may be edited (IAM User Guide,
//!   "Using service-linked roles"). Such roles live under the path `/aws-service-role/`.
//! - Nobody may create, update or delete an AWS-managed KMS alias (`alias/aws/…`): those names
//!   are reserved for AWS managed keys (AWS KMS Developer Guide, "Aliases in AWS KMS").

use std::fmt;

use super::request::{ArnParts, PrincipalKind, Request};

/// What kind of AWS-owned resource a request tried to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Managed {
    /// `arn:aws:iam::aws:policy/…`
    Policy,
    /// `arn:aws:iam::<account>:role/aws-service-role/…`
    ServiceLinkedRole,
    /// `arn:aws:kms:<region>:<account>:alias/aws/…`
    KmsAlias,
}

impl fmt::Display for Managed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Managed::Policy => "an AWS-managed policy",
            Managed::ServiceLinkedRole => "a service-linked role",
            Managed::KmsAlias => "an AWS-managed KMS alias",
        })
    }
}

/// The outcome a rule imposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rule {
    Allow,
    Deny(Managed),
}

/// IAM actions that change a role itself (not its description).
const ROLE_CHANGES: [&str; 9] = [
    "updateassumerolepolicy",
    "putrolepolicy",
    "deleterolepolicy",
    "attachrolepolicy",
    "detachrolepolicy",
    "putrolepermissionsboundary",
    "deleterolepermissionsboundary",
    "deleterole",
    "updaterole",
];

/// IAM actions that change a managed policy.
const POLICY_CHANGES: [&str; 6] = [
    "createpolicyversion",
    "deletepolicy",
    "deletepolicyversion",
    "setdefaultpolicyversion",
    "tagpolicy",
    "untagpolicy",
];

const ALIAS_CHANGES: [&str; 3] = ["createalias", "updatealias", "deletealias"];

/// The rule that decides `req` whatever the policies say, if any.
pub(crate) fn rule(req: &Request) -> Option<Rule> {
    let service = req.service_folded();
    let name = req.action_name_folded();
    if service == "sts" && name == "getcalleridentity" {
        return (req.principal.kind != PrincipalKind::Anonymous).then_some(Rule::Allow);
    }
    let arn = ArnParts::parse(&req.resource)?;
    let resource = arn.resource();
    match service {
        "iam" if arn.service() == "iam" => {
            if arn.account() == "aws" && resource.starts_with("policy/") && POLICY_CHANGES.contains(&name) {
                return Some(Rule::Deny(Managed::Policy));
            }
            if resource.starts_with("role/aws-service-role/") && ROLE_CHANGES.contains(&name) {
                return Some(Rule::Deny(Managed::ServiceLinkedRole));
            }
            None
        }
        "kms" if arn.service() == "kms" && resource.starts_with("alias/aws/") && ALIAS_CHANGES.contains(&name) => {
            Some(Rule::Deny(Managed::KmsAlias))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::Context;

    #[track_caller]
    fn check(principal: &str, action: &str, resource: &str, expect: Option<Rule>) {
        let req = Request::new(principal, action, resource, Some("111111111111"), Context::new()).unwrap();
        assert_eq!(rule(&req), expect, "{principal} {action} {resource}");
    }

    const ROLE: &str = "arn:aws:iam::111111111111:role/Admin";

    #[test]
    fn rules() {
        use Managed::*;
        check(ROLE, "sts:GetCallerIdentity", "*", Some(Rule::Allow));
        check(ROLE, "STS:getcalleridentity", "*", Some(Rule::Allow));
        check("anonymous", "sts:GetCallerIdentity", "*", None);
        let managed = "arn:aws:iam::aws:policy/AdministratorAccess";
        check(ROLE, "iam:CreatePolicyVersion", managed, Some(Rule::Deny(Policy)));
        check(ROLE, "iam:DeletePolicy", managed, Some(Rule::Deny(Policy)));
        check(
            ROLE,
            "iam:SetDefaultPolicyVersion",
            "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess",
            Some(Rule::Deny(Policy)),
        );
        check(ROLE, "iam:GetPolicy", managed, None);
        check(ROLE, "iam:DeletePolicy", "arn:aws:iam::111111111111:policy/AdministratorAccess", None);
        let slr = "arn:aws:iam::111111111111:role/aws-service-role/elasticmapreduce.amazonaws.com/AWSServiceRoleForEMRCleanup";
        check(ROLE, "iam:UpdateAssumeRolePolicy", slr, Some(Rule::Deny(ServiceLinkedRole)));
        check(ROLE, "iam:AttachRolePolicy", slr, Some(Rule::Deny(ServiceLinkedRole)));
        check(ROLE, "iam:DeleteRole", slr, Some(Rule::Deny(ServiceLinkedRole)));
        check(ROLE, "iam:UpdateRoleDescription", slr, None);
        check(ROLE, "iam:DeleteServiceLinkedRole", slr, None);
        check(ROLE, "iam:PutRolePolicy", "arn:aws:iam::111111111111:role/service-role/MyRole", None);
        check(ROLE, "kms:DeleteAlias", "arn:aws:kms:us-east-1:111111111111:alias/aws/s3", Some(Rule::Deny(KmsAlias)));
        check(ROLE, "kms:CreateAlias", "arn:aws:kms:us-east-1:111111111111:alias/aws/new", Some(Rule::Deny(KmsAlias)));
        check(ROLE, "kms:DeleteAlias", "arn:aws:kms:us-east-1:111111111111:alias/awsome", None);
        check(ROLE, "kms:DescribeKey", "arn:aws:kms:us-east-1:111111111111:alias/aws/s3", None);
    }
}
