//! Hand-written cases: every rule of the evaluation logic and each pitfall of the runbook.

use expect_test::expect;
use proptest::prelude::*;

use super::*;
use crate::document::PolicyDocument;

const A: &str = "111111111111";
const B: &str = "222222222222";
const ROLE_A: &str = "arn:aws:iam::111111111111:role/MyRoleA";
const SESSION_A: &str = "arn:aws:sts::111111111111:assumed-role/MyRoleA/i-0abc";
const ROLE_B: &str = "arn:aws:iam::222222222222:role/MyRoleB";
const SESSION_B: &str = "arn:aws:sts::222222222222:assumed-role/MyRoleB/databricks";
const USER_A: &str = "arn:aws:iam::111111111111:user/alice";
const OBJECT: &str = "arn:aws:s3:::my-bucket/data/key.txt";
const BUCKET: &str = "arn:aws:s3:::my-bucket";
const KEY_B: &str = "arn:aws:kms:us-east-1:222222222222:key/1234abcd";

/// A case under construction: the request and the policies, as compact JSON.
struct Case {
    principal: String,
    action: String,
    resource: String,
    account: Option<String>,
    context: Context,
    identity: Vec<String>,
    resource_policy: Option<String>,
    boundaries: Vec<String>,
    session: Option<String>,
    scps: Vec<Vec<String>>,
    rcps: Vec<Vec<String>>,
}

fn req(principal: &str, action: &str, resource: &str) -> Case {
    Case {
        principal: principal.to_owned(),
        action: action.to_owned(),
        resource: resource.to_owned(),
        account: None,
        context: Context::new(),
        identity: Vec::new(),
        resource_policy: None,
        boundaries: Vec::new(),
        session: None,
        scps: Vec::new(),
        rcps: Vec::new(),
    }
}

/// A 2012-10-17 document with these statements (JSON objects separated by commas).
fn doc(statements: &str) -> String {
    format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#)
}

/// An identity statement.
fn allow(action: &str, resource: &str) -> String {
    format!(r#"{{"Effect":"Allow","Action":"{action}","Resource":"{resource}"}}"#)
}
fn deny(action: &str, resource: &str) -> String {
    format!(r#"{{"Effect":"Deny","Action":"{action}","Resource":"{resource}"}}"#)
}
/// A resource-policy statement; `principal` is the JSON of the Principal element.
fn grant(principal: &str, action: &str, resource: &str) -> String {
    format!(r#"{{"Effect":"Allow","Principal":{principal},"Action":"{action}","Resource":"{resource}"}}"#)
}
fn refuse(principal: &str, action: &str, resource: &str) -> String {
    format!(r#"{{"Effect":"Deny","Principal":{principal},"Action":"{action}","Resource":"{resource}"}}"#)
}
fn aws(arn: &str) -> String {
    format!(r#"{{"AWS":"{arn}"}}"#)
}

impl Case {
    fn acct(mut self, account: &str) -> Case {
        self.account = Some(account.to_owned());
        self
    }
    fn ctx(mut self, key: &str, value: &str) -> Case {
        self.context.set(key, Value::Single(value.to_owned()));
        self
    }
    fn id(mut self, statements: &str) -> Case {
        self.identity.push(doc(statements));
        self
    }
    fn id_doc(mut self, document: &str) -> Case {
        self.identity.push(document.to_owned());
        self
    }
    fn res(mut self, statements: &str) -> Case {
        self.resource_policy = Some(doc(statements));
        self
    }
    fn pb(mut self, statements: &str) -> Case {
        self.boundaries.push(doc(statements));
        self
    }
    fn sess(mut self, statements: &str) -> Case {
        self.session = Some(doc(statements));
        self
    }
    fn scp(mut self, levels: &[&str]) -> Case {
        self.scps = levels.iter().map(|s| vec![doc(s)]).collect();
        self
    }
    fn rcp(mut self, levels: &[&str]) -> Case {
        self.rcps = levels.iter().map(|s| vec![doc(s)]).collect();
        self
    }
}

fn compile(json: &str, label: &str) -> CompiledPolicy {
    CompiledPolicy::compile(&PolicyDocument::from_json(json).unwrap()).unwrap().labeled(label)
}

/// Runs the case; `expect` is `outcome (Reason)`.
#[track_caller]
fn check(case: Case, expect: &str) {
    let got = run_case(&case, |d| format!("{} ({:?})", d.decision, d.reason));
    assert_eq!(got, expect, "{} {} on {}", case.principal, case.action, case.resource);
}

fn run_case(case: &Case, show: impl Fn(&Decision<'_>) -> String) -> String {
    let list = |docs: &[String], label: &str| -> Vec<CompiledPolicy> {
        docs.iter().enumerate().map(|(i, d)| compile(d, &format!("{label}[{i}]"))).collect()
    };
    let identity = list(&case.identity, "identity");
    let resource = case.resource_policy.as_deref().map(|d| compile(d, "resource policy"));
    let boundaries = list(&case.boundaries, "boundary");
    let session = case.session.as_deref().map(|d| compile(d, "session policy"));
    let scps: Vec<Vec<CompiledPolicy>> = case.scps.iter().map(|l| list(l, "scp")).collect();
    let rcps: Vec<Vec<CompiledPolicy>> = case.rcps.iter().map(|l| list(l, "rcp")).collect();
    let set = PolicySet {
        identity: identity.iter().collect(),
        resource: resource.as_ref(),
        boundaries: boundaries.iter().collect(),
        session: session.as_ref(),
        scps: scps.iter().map(|l| l.iter().collect()).collect(),
        rcps: rcps.iter().map(|l| l.iter().collect()).collect(),
    };
    let request =
        Request::new(&case.principal, &case.action, &case.resource, case.account.as_deref(), case.context.clone())
            .unwrap();
    let decision = evaluate(&request, &set);
    assert_eq!(decide(&request, &set), decision.decision, "decide and evaluate disagree");
    show(&decision)
}

#[test]
fn same_account() {
    let get = || req(ROLE_B, "s3:GetObject", OBJECT).acct(B);
    check(get(), "implicitDeny (NoAllow)");
    check(get().id(&allow("s3:GetObject", OBJECT)), "allowed (AllowedByIdentity)");
    check(get().res(&grant(&aws(ROLE_B), "s3:GetObject", OBJECT)), "allowed (AllowedByResource)");
    check(get().id(&allow("s3:*", "*")).res(&grant(&aws(ROLE_B), "s3:GetObject", OBJECT)), "allowed (AllowedByBoth)");
    // Naming the account delegates to the identity policies; on its own it grants nothing.
    check(get().res(&grant(&aws(B), "s3:GetObject", OBJECT)), "implicitDeny (NoAllow)");
    check(get().res(&grant(&aws(&format!("arn:aws:iam::{B}:root")), "s3:*", "*")), "implicitDeny (NoAllow)");
    check(get().id(&allow("s3:GetObject", OBJECT)).id(&deny("s3:*", "*")), "explicitDeny (ExplicitDeny)");
    check(
        get().id(&allow("s3:GetObject", OBJECT)).res(&refuse(r#""*""#, "s3:GetObject", OBJECT)),
        "explicitDeny (ExplicitDeny)",
    );
    // A Deny naming the account denies every principal in it.
    check(
        get().id(&allow("s3:GetObject", OBJECT)).res(&refuse(&aws(B), "s3:GetObject", OBJECT)),
        "explicitDeny (ExplicitDeny)",
    );
    check(get().id(&allow("s3:GetObject", BUCKET)), "implicitDeny (NoAllow)");
}

#[test]
fn cross_account() {
    let get = || req(SESSION_B, "s3:GetObject", OBJECT).acct(A);
    let identity = allow("s3:GetObject", "arn:aws:s3:::my-bucket/*");
    check(get().id(&identity), "implicitDeny (CrossAccountNoResourceAllow)");
    check(get().res(&grant(&aws(ROLE_B), "s3:GetObject", OBJECT)), "implicitDeny (CrossAccountNoIdentityAllow)");
    check(get(), "implicitDeny (CrossAccountNeither)");
    check(
        get().id(&identity).res(&grant(&aws(ROLE_B), "s3:GetObject", "arn:aws:s3:::my-bucket/*")),
        "allowed (AllowedByBoth)",
    );
    check(
        get().id(&identity).res(&grant(&aws(B), "s3:GetObject", "arn:aws:s3:::my-bucket/*")),
        "allowed (AllowedByBoth)",
    );
    check(
        get().id(&identity).res(&grant(&aws(&format!("arn:aws:iam::{B}:root")), "s3:*", "*")),
        "allowed (AllowedByBoth)",
    );
    check(get().id(&identity).res(&grant(r#""*""#, "s3:GetObject", "*")), "allowed (AllowedByBoth)");
    // Pitfall: the bucket policy names the wrong principal (account A's role instead of MyRoleB).
    check(
        get().id(&identity).res(&grant(&aws(ROLE_A), "s3:GetObject", "arn:aws:s3:::my-bucket/*")),
        "implicitDeny (CrossAccountNoResourceAllow)",
    );
    check(
        get().id(&identity).res(&grant(&aws(A), "s3:GetObject", "arn:aws:s3:::my-bucket/*")),
        "implicitDeny (CrossAccountNoResourceAllow)",
    );
    // Pitfall: a Deny on s3:PutObjectAcl in the bucket policy breaks the write path.
    let put_acl = || req(SESSION_B, "s3:PutObjectAcl", OBJECT).acct(A).id(&allow("s3:Put*", "*"));
    check(put_acl().res(&grant(&aws(ROLE_B), "s3:*", "arn:aws:s3:::my-bucket/*")), "allowed (AllowedByBoth)");
    check(
        put_acl().res(&format!(
            "{},{}",
            grant(&aws(ROLE_B), "s3:*", "arn:aws:s3:::my-bucket/*"),
            refuse(r#""*""#, "s3:PutObjectAcl", "arn:aws:s3:::my-bucket/*")
        )),
        "explicitDeny (ExplicitDeny)",
    );
    // The account is the principal's, not the resource ARN's: S3 ARNs carry none.
    check(req(SESSION_B, "s3:GetObject", OBJECT).acct(B).id(&identity), "allowed (AllowedByIdentity)");
}

#[test]
fn principals() {
    let get = |principal: &str, element: &str| {
        req(principal, "s3:GetObject", OBJECT).acct(A).id(&allow("s3:GetObject", "*")).res(&grant(
            element,
            "s3:GetObject",
            "*",
        ))
    };
    check(get(SESSION_B, &aws(B)), "allowed (AllowedByBoth)");
    check(get(SESSION_B, &aws(A)), "implicitDeny (CrossAccountNoResourceAllow)");
    check(get(SESSION_B, &aws("arn:aws:iam::222222222222:root")), "allowed (AllowedByBoth)");
    check(get(SESSION_B, &aws(ROLE_B)), "allowed (AllowedByBoth)");
    check(get(SESSION_B, &aws("arn:aws:iam::222222222222:role/team/MyRoleB")), "allowed (AllowedByBoth)");
    check(get(SESSION_B, &aws("arn:aws:iam::222222222222:role/myroleb")), "allowed (AllowedByBoth)");
    check(get(SESSION_B, &aws("arn:aws:iam::222222222222:role/Other")), "implicitDeny (CrossAccountNoResourceAllow)");
    check(get(SESSION_B, &aws(SESSION_B)), "allowed (AllowedByBoth)");
    check(
        get(SESSION_B, &aws("arn:aws:sts::222222222222:assumed-role/MyRoleB/other")),
        "implicitDeny (CrossAccountNoResourceAllow)",
    );
    check(get(ROLE_B, &aws(ROLE_B)), "allowed (AllowedByBoth)");
    check(get(ROLE_B, &aws(SESSION_B)), "implicitDeny (CrossAccountNoResourceAllow)");
    check(get(SESSION_B, r#"{"AWS":"*"}"#), "allowed (AllowedByBoth)");
    check(
        get(SESSION_B, r#"{"AWS":["arn:aws:iam::333333333333:root","arn:aws:iam::222222222222:role/MyRoleB"]}"#),
        "allowed (AllowedByBoth)",
    );
    let user_b = "arn:aws:iam::222222222222:user/bob";
    check(get(user_b, &aws(user_b)), "allowed (AllowedByBoth)");
    check(get("arn:aws:sts::222222222222:federated-user/bob", &aws(user_b)), "allowed (AllowedByBoth)");
    check(get(user_b, &aws(ROLE_B)), "implicitDeny (CrossAccountNoResourceAllow)");
    // Service and federated principals are matched by their exact names.
    let service = |element: &str| {
        req("cloudtrail.amazonaws.com", "s3:PutObject", OBJECT).acct(A).res(&grant(element, "s3:PutObject", "*"))
    };
    check(service(r#"{"Service":"cloudtrail.amazonaws.com"}"#), "allowed (AllowedByResource)");
    check(service(r#"{"Service":["config.amazonaws.com","cloudtrail.amazonaws.com"]}"#), "allowed (AllowedByResource)");
    check(service(r#"{"Service":"config.amazonaws.com"}"#), "implicitDeny (ServicePrincipal)");
    check(service(r#""*""#), "allowed (AllowedByResource)");
    check(service(&aws(A)), "implicitDeny (ServicePrincipal)");
    let web = "cognito-identity.amazonaws.com";
    check(
        req(web, "sts:AssumeRoleWithWebIdentity", ROLE_A).res(&format!(
            r#"{{"Effect":"Allow","Principal":{{"Federated":"{web}"}},"Action":"sts:AssumeRoleWithWebIdentity"}}"#
        )),
        "allowed (AllowedByResource)",
    );
    // NotPrincipal: everyone but the listed principals (and their sessions).
    let not = |principal: &str, element: &str| {
        req(principal, "s3:GetObject", OBJECT).acct(A).id(&allow("s3:*", "*")).res(&format!(
            r#"{{"Effect":"Deny","NotPrincipal":{element},"Action":"s3:*","Resource":"*"}},{}"#,
            grant(r#""*""#, "s3:*", "*")
        ))
    };
    check(not(SESSION_B, &aws(ROLE_B)), "allowed (AllowedByBoth)");
    check(not(SESSION_B, &aws(B)), "allowed (AllowedByBoth)");
    check(not(SESSION_B, &aws("arn:aws:iam::222222222222:role/Other")), "explicitDeny (ExplicitDeny)");
    check(not(USER_A, &aws(ROLE_B)), "explicitDeny (ExplicitDeny)");
    check(
        req(SESSION_B, "s3:GetObject", OBJECT)
            .acct(A)
            .id(&allow("s3:*", "*"))
            .res(&format!(r#"{{"Effect":"Allow","NotPrincipal":{},"Action":"s3:*","Resource":"*"}}"#, aws(ROLE_A))),
        "allowed (AllowedByBoth)",
    );
}

#[test]
fn assume_role() {
    // Account A's MyRoleA assumes account B's MyRoleB.
    let assume = || req(SESSION_A, "sts:AssumeRole", ROLE_B);
    let trust = |element: &str| grant(element, "sts:AssumeRole", "*").replace(r#","Resource":"*""#, "");
    let may_assume = allow("sts:AssumeRole", ROLE_B);
    check(assume().id(&may_assume).res(&trust(&aws(ROLE_A))), "allowed (AllowedByBoth)");
    check(assume().id(&may_assume).res(&trust(&aws(A))), "allowed (AllowedByBoth)");
    // Pitfall: the trust policy lacks MyRoleA.
    check(
        assume().id(&may_assume).res(&trust(&aws("arn:aws:iam::111111111111:role/Other"))),
        "implicitDeny (CrossAccountNoResourceAllow)",
    );
    check(
        assume().id(&may_assume).res(&trust(r#"{"Service":"ec2.amazonaws.com"}"#)),
        "implicitDeny (CrossAccountNoResourceAllow)",
    );
    // Pitfall: MyRoleA's policy lacks sts:AssumeRole.
    check(assume().id(&allow("s3:*", "*")).res(&trust(&aws(ROLE_A))), "implicitDeny (CrossAccountNoIdentityAllow)");
    check(
        assume().id(&allow("sts:AssumeRole", "arn:aws:iam::222222222222:role/Other")).res(&trust(&aws(ROLE_A))),
        "implicitDeny (CrossAccountNoIdentityAllow)",
    );
    // Pitfall: an SCP denies sts:AssumeRole.
    let full = allow("*", "*");
    check(
        assume()
            .id(&may_assume)
            .res(&trust(&aws(ROLE_A)))
            .scp(&[&full, &format!("{full},{}", deny("sts:AssumeRole", "*"))]),
        "explicitDeny (ExplicitDeny)",
    );
    // Within one account the trust policy still decides.
    let local = || req(SESSION_A, "sts:AssumeRole", "arn:aws:iam::111111111111:role/Local");
    check(local().id(&allow("sts:AssumeRole", "*")), "implicitDeny (TrustPolicyMissing)");
    check(local().id(&allow("sts:AssumeRole", "*")).res(&trust(&aws(ROLE_B))), "implicitDeny (TrustPolicy)");
    check(local().id(&allow("sts:AssumeRole", "*")).res(&trust(&aws(A))), "allowed (AllowedByIdentity)");
    check(local().res(&trust(&aws(A))), "implicitDeny (TrustPolicy)");
    check(local().res(&trust(&aws(ROLE_A))), "allowed (AllowedByResource)");
    check(local().res(&trust(&aws(SESSION_A))), "allowed (AllowedByResource)");
    check(local().id(&deny("sts:*", "*")).res(&trust(&aws(ROLE_A))), "explicitDeny (ExplicitDeny)");
    // GetCallerIdentity needs no permission, and no Deny stops it.
    check(req(SESSION_A, "sts:GetCallerIdentity", "*").id(&deny("*", "*")), "allowed (CallerIdentity)");
}

#[test]
fn kms_key_policy() {
    let decrypt = |principal: &str| req(principal, "kms:Decrypt", KEY_B);
    let root_b = aws("arn:aws:iam::222222222222:root");
    // Within the key's account: the key policy must name the role, or the root (then IAM decides).
    check(
        decrypt(SESSION_B).id(&allow("kms:Decrypt", KEY_B)).res(&grant(&root_b, "kms:*", "*")),
        "allowed (AllowedByIdentity)",
    );
    check(decrypt(SESSION_B).res(&grant(&root_b, "kms:*", "*")), "implicitDeny (KeyPolicy)");
    check(decrypt(SESSION_B).res(&grant(&aws(ROLE_B), "kms:Decrypt", "*")), "allowed (AllowedByResource)");
    // Pitfall: a key policy without the role (and without the root) refuses even an IAM allow.
    check(
        decrypt(SESSION_B).id(&allow("kms:*", "*")).res(&grant(
            &aws("arn:aws:iam::222222222222:role/Admin"),
            "kms:*",
            "*",
        )),
        "implicitDeny (KeyPolicy)",
    );
    check(decrypt(SESSION_B).id(&allow("kms:*", "*")), "implicitDeny (KeyPolicy)");
    // Across accounts: the key policy and the caller's policy must both allow.
    check(
        decrypt(SESSION_A).id(&allow("kms:Decrypt", KEY_B)).res(&grant(&aws(ROLE_A), "kms:Decrypt", "*")),
        "allowed (AllowedByBoth)",
    );
    check(
        decrypt(SESSION_A).id(&allow("kms:Decrypt", KEY_B)).res(&grant(&root_b, "kms:*", "*")),
        "implicitDeny (CrossAccountNoResourceAllow)",
    );
    // An alias is not a key: the account's IAM policies are trusted as usual.
    check(
        req(SESSION_B, "kms:DescribeKey", "arn:aws:kms:us-east-1:222222222222:alias/data").id(&allow("kms:*", "*")),
        "allowed (AllowedByIdentity)",
    );
}

#[test]
fn boundaries() {
    let get = |principal: &str| req(principal, "s3:GetObject", OBJECT).acct(B);
    let id = allow("s3:*", "*");
    check(get(SESSION_B).id(&id).pb(&allow("s3:Get*", "*")), "allowed (AllowedByIdentity)");
    check(get(SESSION_B).id(&id).pb(&allow("ec2:*", "*")), "implicitDeny (Boundary)");
    check(
        get(SESSION_B).id(&id).pb(&format!("{},{}", allow("*", "*"), deny("s3:GetObject", "*"))),
        "explicitDeny (ExplicitDeny)",
    );
    check(get(SESSION_B).pb(&allow("s3:*", "*")), "implicitDeny (NoAllow)");
    // Within the account, a resource allow naming the session (or the user) itself is not limited.
    check(
        get(SESSION_B).pb(&allow("ec2:*", "*")).res(&grant(&aws(SESSION_B), "s3:*", "*")),
        "allowed (AllowedByResource)",
    );
    check(get(SESSION_B).pb(&allow("ec2:*", "*")).res(&grant(r#""*""#, "s3:*", "*")), "allowed (AllowedByResource)");
    check(get(SESSION_B).pb(&allow("ec2:*", "*")).res(&grant(&aws(ROLE_B), "s3:*", "*")), "implicitDeny (Boundary)");
    let user_b = "arn:aws:iam::222222222222:user/bob";
    check(get(user_b).pb(&allow("ec2:*", "*")).res(&grant(&aws(user_b), "s3:*", "*")), "allowed (AllowedByResource)");
    check(get(ROLE_B).pb(&allow("ec2:*", "*")).res(&grant(&aws(ROLE_B), "s3:*", "*")), "implicitDeny (Boundary)");
    check(get(ROLE_B).pb(&allow("ec2:*", "*")).res(&grant(r#""*""#, "s3:*", "*")), "allowed (AllowedByResource)");
    // Across accounts the boundary always applies.
    check(
        req(SESSION_B, "s3:GetObject", OBJECT).acct(A).id(&id).pb(&allow("ec2:*", "*")).res(&grant(
            &aws(SESSION_B),
            "s3:*",
            "*",
        )),
        "implicitDeny (Boundary)",
    );
    // A Deny with NotPrincipal always denies a principal that has a boundary.
    let not_principal_deny =
        format!(r#"{{"Effect":"Deny","NotPrincipal":{},"Action":"s3:*","Resource":"*"}}"#, aws(ROLE_B));
    check(get(SESSION_B).id(&id).res(&not_principal_deny), "allowed (AllowedByIdentity)");
    check(get(SESSION_B).id(&id).pb(&allow("*", "*")).res(&not_principal_deny), "explicitDeny (ExplicitDeny)");
}

#[test]
fn session_policies() {
    let get = || req(SESSION_B, "s3:GetObject", OBJECT).acct(B).id(&allow("s3:*", "*"));
    check(get().sess(&allow("s3:GetObject", "*")), "allowed (AllowedByIdentity)");
    check(get().sess(&allow("s3:PutObject", "*")), "implicitDeny (SessionPolicy)");
    check(get().sess(&format!("{},{}", allow("*", "*"), deny("s3:*", "*"))), "explicitDeny (ExplicitDeny)");
    // A resource policy that names the session's own ARN is not limited by the session policy;
    // one that names the role is.
    check(
        req(SESSION_B, "s3:GetObject", OBJECT).acct(B).sess(&allow("ec2:*", "*")).res(&grant(
            &aws(SESSION_B),
            "s3:*",
            "*",
        )),
        "allowed (AllowedByResource)",
    );
    check(
        req(SESSION_B, "s3:GetObject", OBJECT).acct(B).sess(&allow("ec2:*", "*")).res(&grant(
            &aws(ROLE_B),
            "s3:*",
            "*",
        )),
        "implicitDeny (SessionPolicy)",
    );
    check(
        req(SESSION_B, "s3:GetObject", OBJECT).acct(A).sess(&allow("ec2:*", "*")).id(&allow("s3:*", "*")).res(&grant(
            &aws(SESSION_B),
            "s3:*",
            "*",
        )),
        "implicitDeny (SessionPolicy)",
    );
}

#[test]
fn organization_policies() {
    let get = || req(SESSION_B, "s3:GetObject", OBJECT).acct(B).id(&allow("s3:*", "*"));
    let full = allow("*", "*");
    check(get().scp(&[&full, &full, &allow("s3:*", "*")]), "allowed (AllowedByIdentity)");
    check(get().scp(&[&full, &allow("ec2:*", "*"), &full]), "implicitDeny (Scp(1))");
    check(get().scp(&[&full, &format!("{full},{}", deny("s3:Get*", "*"))]), "explicitDeny (ExplicitDeny)");
    // Every RCP level holds RCPFullAWSAccess, so RCPs only deny.
    let rcp_deny = refuse(r#""*""#, "s3:*", "*");
    check(get().rcp(&[&grant(r#""*""#, "ec2:*", "*")]), "allowed (AllowedByIdentity)");
    check(get().rcp(&[&grant(r#""*""#, "s3:*", "*"), &rcp_deny]), "explicitDeny (ExplicitDeny)");
    let rcp_tls = r#"{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"BoolIfExists":{"aws:SecureTransport":"false"}}}"#;
    check(get().rcp(&[rcp_tls]).ctx("aws:SecureTransport", "true"), "allowed (AllowedByIdentity)");
    check(get().rcp(&[rcp_tls]), "explicitDeny (ExplicitDeny)");
    check(get().rcp(&[rcp_tls]).ctx("aws:SecureTransport", "false"), "explicitDeny (ExplicitDeny)");
    // Neither applies to service principals.
    let service = req("cloudtrail.amazonaws.com", "s3:PutObject", OBJECT).acct(B).res(&grant(
        r#"{"Service":"cloudtrail.amazonaws.com"}"#,
        "s3:PutObject",
        "*",
    ));
    check(service.scp(&[&deny("*", "*")]).rcp(&[&rcp_deny]), "allowed (AllowedByResource)");
}

#[test]
fn matching() {
    let get = |action: &str, resource: &str, statement: &str| req(SESSION_B, action, resource).acct(B).id(statement);
    check(get("s3:GetObject", OBJECT, &allow("S3:getobject", "*")), "allowed (AllowedByIdentity)");
    check(get("S3:GETOBJECT", OBJECT, &allow("s3:GetObject", "*")), "allowed (AllowedByIdentity)");
    check(get("s3:GetObject", OBJECT, &allow("s3:Get*", "*")), "allowed (AllowedByIdentity)");
    check(get("s3:GetObject", OBJECT, &allow("s3:*Object", "*")), "allowed (AllowedByIdentity)");
    check(get("s3:GetObject", OBJECT, &allow("s3:Get?bject", "*")), "allowed (AllowedByIdentity)");
    check(get("s3:GetObject", OBJECT, &allow("s3:Get?Object", "*")), "implicitDeny (NoAllow)");
    check(get("s3:GetObject", OBJECT, &allow("s3*", "*")), "implicitDeny (NoAllow)");
    check(get("s3:GetObject", OBJECT, &allow("ec2:GetObject", "*")), "implicitDeny (NoAllow)");
    check(get("s3:GetObject", OBJECT, &allow("*", "*")), "allowed (AllowedByIdentity)");
    let not_action = r#"{"Effect":"Allow","NotAction":["s3:Delete*","s3:Put*"],"Resource":"*"}"#;
    check(get("s3:GetObject", OBJECT, not_action), "allowed (AllowedByIdentity)");
    check(get("s3:DeleteObject", OBJECT, not_action), "implicitDeny (NoAllow)");
    check(get("s3:GetObject", OBJECT, r#"{"Effect":"Allow","Action":"s3:*"}"#), "allowed (AllowedByIdentity)");
    // Resource wildcards span `/` and are case-sensitive past the account.
    check(get("s3:GetObject", OBJECT, &allow("s3:*", "arn:aws:s3:::my-bucket/*")), "allowed (AllowedByIdentity)");
    check(get("s3:GetObject", OBJECT, &allow("s3:*", "arn:aws:s3:::my-*/*.txt")), "allowed (AllowedByIdentity)");
    check(
        get("s3:GetObject", OBJECT, &allow("s3:*", "arn:aws:s3:::my-bucket/data/???.txt")),
        "allowed (AllowedByIdentity)",
    );
    check(get("s3:GetObject", OBJECT, &allow("s3:*", "arn:aws:s3:::my-bucket/DATA/*")), "implicitDeny (NoAllow)");
    check(get("s3:GetObject", OBJECT, &allow("s3:*", "arn:aws:s3:::my-bucket")), "implicitDeny (NoAllow)");
    check(get("s3:GetObject", OBJECT, &allow("s3:*", "arn:aws:s3:::my-bucket*")), "allowed (AllowedByIdentity)");
    check(get("s3:GetObject", OBJECT, &allow("s3:*", "arn:*:s3:::my-bucket/*")), "allowed (AllowedByIdentity)");
    check(get("s3:GetObject", OBJECT, &allow("s3:*", "arn:AWS:S3:::my-bucket/*")), "allowed (AllowedByIdentity)");
    check(get("s3:GetObject", OBJECT, &allow("s3:*", "arn:aws:s3")), "implicitDeny (NoAllow)");
    check(get("s3:GetObject", OBJECT, &allow("s3:*", "my-bucket/*")), "implicitDeny (NoAllow)");
    let not_resource = r#"{"Effect":"Allow","Action":"s3:*","NotResource":["arn:aws:s3:::secret/*","arn:aws:s3:::my-bucket/private/*"]}"#;
    check(get("s3:GetObject", OBJECT, not_resource), "allowed (AllowedByIdentity)");
    check(get("s3:GetObject", "arn:aws:s3:::my-bucket/private/x", not_resource), "implicitDeny (NoAllow)");
    // Per-segment matching for partition, service, region and account.
    let role = "arn:aws:iam::222222222222:role/Other";
    check(get("iam:PassRole", role, &allow("iam:PassRole", "arn:aws:iam::*:role/*")), "allowed (AllowedByIdentity)");
    check(
        get("iam:PassRole", role, &allow("iam:PassRole", "arn:aws:iam::2222222222??:role/O*")),
        "allowed (AllowedByIdentity)",
    );
    check(
        get("iam:PassRole", role, &allow("iam:PassRole", "arn:aws:iam::111111111111:role/*")),
        "implicitDeny (NoAllow)",
    );
    check(
        get("iam:PassRole", role, &allow("iam:PassRole", "arn:aws:iam::222222222222:*")),
        "allowed (AllowedByIdentity)",
    );
    check(
        get("iam:PassRole", role, &allow("iam:PassRole", "arn:aws:iam::222222222222:user/*")),
        "implicitDeny (NoAllow)",
    );
    check(
        get(
            "iam:PassRole",
            "arn:aws:iam::222222222222:role/a/b/Other",
            &allow("iam:PassRole", "arn:aws:iam::222222222222:role/*"),
        ),
        "allowed (AllowedByIdentity)",
    );
    // Several keys and operators in one statement all have to match.
    let conditional = r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"},"IpAddress":{"aws:SourceIp":["10.0.0.0/8","2001:db8::/32"]},"StringEquals":{"aws:PrincipalAccount":"222222222222"}}}"#;
    check(
        get("s3:GetObject", OBJECT, conditional).ctx("aws:SecureTransport", "true").ctx("aws:SourceIp", "10.9.9.9"),
        "allowed (AllowedByIdentity)",
    );
    check(
        get("s3:GetObject", OBJECT, conditional).ctx("aws:SecureTransport", "true").ctx("aws:SourceIp", "2001:db8::7"),
        "allowed (AllowedByIdentity)",
    );
    check(
        get("s3:GetObject", OBJECT, conditional).ctx("aws:SecureTransport", "true").ctx("aws:SourceIp", "11.0.0.1"),
        "implicitDeny (NoAllow)",
    );
    check(get("s3:GetObject", OBJECT, conditional).ctx("aws:SourceIp", "10.9.9.9"), "implicitDeny (NoAllow)");
    // A Deny whose condition fails does not apply.
    let deny_http =
        r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#;
    check(
        get("s3:GetObject", OBJECT, &format!("{},{deny_http}", allow("*", "*"))).ctx("aws:SecureTransport", "true"),
        "allowed (AllowedByIdentity)",
    );
    check(
        get("s3:GetObject", OBJECT, &format!("{},{deny_http}", allow("*", "*"))).ctx("aws:SecureTransport", "false"),
        "explicitDeny (ExplicitDeny)",
    );
}

#[test]
fn variables_and_global_keys() {
    let user = "arn:aws:iam::111111111111:user/alice";
    let home = allow("s3:*", "arn:aws:s3:::home/${aws:username}/*");
    check(req(user, "s3:GetObject", "arn:aws:s3:::home/alice/x").acct(A).id(&home), "allowed (AllowedByIdentity)");
    check(req(user, "s3:GetObject", "arn:aws:s3:::home/bob/x").acct(A).id(&home), "implicitDeny (NoAllow)");
    // Roles have no aws:username: the variable has no value and the statement matches nothing.
    check(req(SESSION_A, "s3:GetObject", "arn:aws:s3:::home/MyRoleA/x").acct(A).id(&home), "implicitDeny (NoAllow)");
    let with_default = allow("s3:*", "arn:aws:s3:::home/${aws:username, 'shared'}/*");
    check(
        req(SESSION_A, "s3:GetObject", "arn:aws:s3:::home/shared/x").acct(A).id(&with_default),
        "allowed (AllowedByIdentity)",
    );
    let tag = allow("s3:*", "arn:aws:s3:::team-${aws:PrincipalTag/team}/*");
    check(
        req(SESSION_A, "s3:GetObject", "arn:aws:s3:::team-data/x")
            .acct(A)
            .id(&tag)
            .ctx("aws:principaltag/TEAM", "data"),
        "allowed (AllowedByIdentity)",
    );
    let literal_star = allow("s3:*", "arn:aws:s3:::b/${*}${?}${$}");
    check(
        req(SESSION_A, "s3:GetObject", "arn:aws:s3:::b/*?$").acct(A).id(&literal_star),
        "allowed (AllowedByIdentity)",
    );
    check(req(SESSION_A, "s3:GetObject", "arn:aws:s3:::b/xy$").acct(A).id(&literal_star), "implicitDeny (NoAllow)");
    // An entry whose variable has no value matches nothing, and a NotResource holding one does not apply.
    let not_home = r#"{"Effect":"Allow","Action":"s3:*","NotResource":"arn:aws:s3:::home/${aws:username}/*"}"#;
    check(req(user, "s3:GetObject", "arn:aws:s3:::home/bob/x").acct(A).id(not_home), "allowed (AllowedByIdentity)");
    check(req(user, "s3:GetObject", "arn:aws:s3:::home/alice/x").acct(A).id(not_home), "implicitDeny (NoAllow)");
    check(req(SESSION_A, "s3:GetObject", "arn:aws:s3:::home/bob/x").acct(A).id(not_home), "implicitDeny (NoAllow)");
    let userid = r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringLike":{"aws:userid":"AROA*:${aws:username}"}}}"#;
    check(
        req(user, "s3:GetObject", OBJECT).acct(A).id(userid).ctx("aws:userid", "AROAXYZ:alice"),
        "allowed (AllowedByIdentity)",
    );
    // Without Version 2012-10-17, `${...}` is literal text.
    let old = r#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}/*"}]}"#;
    check(req(user, "s3:GetObject", "arn:aws:s3:::home/alice/x").acct(A).id_doc(old), "implicitDeny (NoAllow)");
    check(
        req(user, "s3:GetObject", "arn:aws:s3:::home/${aws:username}/x").acct(A).id_doc(old),
        "allowed (AllowedByIdentity)",
    );
    // Global keys are filled from the request unless the case sets them.
    let cond = |op: &str, key: &str, value: &str| {
        format!(r#"{{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{{"{op}":{{"{key}":"{value}"}}}}}}"#)
    };
    let get = || req(SESSION_B, "s3:GetObject", OBJECT).acct(A).res(&grant(r#""*""#, "s3:*", "*"));
    check(get().id(&cond("ArnEquals", "aws:PrincipalArn", ROLE_B)), "allowed (AllowedByBoth)");
    check(get().id(&cond("StringEquals", "aws:PrincipalAccount", B)), "allowed (AllowedByBoth)");
    check(get().id(&cond("StringEquals", "aws:ResourceAccount", A)), "allowed (AllowedByBoth)");
    check(get().id(&cond("StringEquals", "aws:PrincipalType", "AssumedRole")), "allowed (AllowedByBoth)");
    check(get().id(&cond("Bool", "aws:PrincipalIsAWSService", "false")), "allowed (AllowedByBoth)");
    check(get().id(&cond("Null", "aws:username", "true")), "allowed (AllowedByBoth)");
    check(
        get().id(&cond("StringEquals", "aws:PrincipalAccount", B)).ctx("aws:PrincipalAccount", "999999999999"),
        "implicitDeny (CrossAccountNoIdentityAllow)",
    );
    check(
        req(user, "s3:GetObject", OBJECT).acct(A).id(&cond("StringEquals", "aws:PrincipalType", "User")),
        "allowed (AllowedByIdentity)",
    );
    // A bucket policy condition on aws:PrincipalArn sees the role, not the session.
    check(
        get().id(&allow("s3:*", "*")).res(r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::222222222222:role/MyRole*"}}}"#),
        "allowed (AllowedByBoth)",
    );
}

#[test]
fn explanation() {
    let case = req(SESSION_B, "s3:PutObjectAcl", OBJECT)
        .acct(A)
        .id(&format!(r#"{{"Sid":"Write","Effect":"Allow","Action":["s3:PutObject","s3:PutObjectAcl"],"Resource":"arn:aws:s3:::my-bucket/*"}},{}"#, allow("s3:List*", "*")))
        .res(&format!(
            r#"{},{{"Sid":"NoAcl","Effect":"Deny","Principal":"*","Action":"s3:PutObjectAcl","Resource":"*"}}"#,
            grant(&aws(ROLE_B), "s3:*", "arn:aws:s3:::my-bucket/*")
        ))
        .scp(&[&allow("*", "*")]);
    let show = |d: &Decision<'_>| {
        let mut out =
            format!("{} ({}) identity={} resource={} scp={}\n", d.decision, d.reason, d.identity, d.resource, d.scp);
        for s in &d.matched {
            out.push_str(&format!("  {s}\n"));
        }
        out
    };
    expect![[r#"
        explicitDeny (an explicit Deny statement applies) identity=allowed resource=explicitDeny scp=allowed
          Deny statement `NoAcl` (resource) of resource policy
    "#]]
    .assert_eq(&run_case(&case, show));
    let case = req(SESSION_B, "s3:GetObject", OBJECT)
        .acct(A)
        .id(r#"{"Sid":"Read","Effect":"Allow","Action":"s3:GetObject","Resource":"*"}"#)
        .res(&grant(&aws(ROLE_A), "s3:*", "*"));
    expect![[r#"
        implicitDeny (cross-account: an identity policy allows, but the resource policy does not name the principal or its account) identity=allowed resource=implicitDeny scp=notApplicable
          Allow statement `Read` (identity) of identity[0]
    "#]]
    .assert_eq(&run_case(&case, show));
}

#[test]
fn requests() {
    let check = |principal: &str, action: &str, resource: &str, account: Option<&str>, expect: &str| {
        let got = match Request::new(principal, action, resource, account, Context::new()) {
            Ok(r) => format!("{r} in {} by {}", r.resource_account(), r.principal_account()),
            Err(e) => format!("error: {e}"),
        };
        assert_eq!(got, expect);
    };
    check(SESSION_A, "s3:GetObject", OBJECT, Some(B), "arn:aws:sts::111111111111:assumed-role/MyRoleA/i-0abc s3:GetObject on arn:aws:s3:::my-bucket/data/key.txt in 222222222222 by 111111111111");
    check(SESSION_A, "sts:AssumeRole", ROLE_B, None, "arn:aws:sts::111111111111:assumed-role/MyRoleA/i-0abc sts:AssumeRole on arn:aws:iam::222222222222:role/MyRoleB in 222222222222 by 111111111111");
    check(
        A,
        "sts:GetCallerIdentity",
        "*",
        None,
        "111111111111 sts:GetCallerIdentity on * in 111111111111 by 111111111111",
    );
    check(
        SESSION_A,
        "s3:GetObject",
        OBJECT,
        None,
        "error: resource `arn:aws:s3:::my-bucket/data/key.txt` carries no account: give the resource account",
    );
    check(SESSION_A, "s3", OBJECT, Some(B), "error: action `s3` is not of the form `service:name`");
    check(SESSION_A, ":x", OBJECT, Some(B), "error: action `:x` is not of the form `service:name`");
    check("", "s3:GetObject", OBJECT, Some(B), "error: principal is empty");
}

#[test]
fn compile_errors() {
    let check = |json: &str, expect: &str| {
        let got = match CompiledPolicy::compile(&PolicyDocument::from_json(json).unwrap()) {
            Ok(p) => format!("{} statements", p.len()),
            Err(e) => format!("error: {e}"),
        };
        assert_eq!(got, expect);
    };
    check(r#"{"Statement":[{"Effect":"Allow","Action":"*"}]}"#, "1 statements");
    check(
        r#"{"Statement":[{"Sid":"x","Effect":"allow","Action":"*"}]}"#,
        "error: statement `x`: effect `allow` is neither `Allow` nor `Deny`",
    );
    check(
        r#"{"Statement":[{"Effect":"Allow","Resource":"*"}]}"#,
        "error: statement `0` has neither `Action` nor `NotAction`",
    );
    check(
        r#"{"Statement":[{"Effect":"Allow","Action":"*","NotAction":"*"}]}"#,
        "error: statement `0` has both `Action` and `NotAction`",
    );
    check(
        r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","NotResource":"*"}]}"#,
        "error: statement `0` has both `Resource` and `NotResource`",
    );
    check(
        r#"{"Statement":[{"Effect":"Allow","Action":"*","Condition":{"StringEqualz":{"a":"b"}}}]}"#,
        "error: statement `0`: unknown condition operator `StringEqualz`",
    );
    check(
        r#"{"Statement":[{"Effect":"Allow","Action":"*","Condition":{"StringEquals":{"a":{"b":1}}}}]}"#,
        "error: statement `0`: the value of `a` under `StringEquals` is not a string, number or boolean",
    );
    check(
        r#"{"Statement":[{"Effect":"Allow","Action":"*","Principal":{"Aws":"*"}}]}"#,
        "error: statement `0`: principal type `Aws` is not `AWS`, `Service`, `Federated` or `CanonicalUser`",
    );
    // A bare principal string is read as `{"AWS": ...}`.
    check(r#"{"Statement":[{"Effect":"Allow","Action":"*","Principal":"111111111111"}]}"#, "1 statements");
}

/// Anonymous requests: only a resource policy that allows everyone can allow one; identity
/// policies, boundaries, session policies and SCPs do not apply, RCPs and Denies do
/// (AWS, "Policy evaluation logic"; the `simulate` case format, `docs/simulate.md`).
#[test]
fn anonymous_requests() {
    let get = || req(ANONYMOUS, "s3:GetObject", OBJECT).acct(B);
    check(get(), "implicitDeny (Anonymous)");
    check(get().res(&grant(r#""*""#, "s3:GetObject", OBJECT)), "allowed (AllowedByResource)");
    check(get().res(&grant(&aws("*"), "s3:GetObject", "arn:aws:s3:::my-bucket/*")), "allowed (AllowedByResource)");
    check(get().res(&grant(&aws(B), "s3:GetObject", OBJECT)), "implicitDeny (Anonymous)");
    check(get().res(&grant(&aws(ROLE_B), "s3:GetObject", OBJECT)), "implicitDeny (Anonymous)");
    // A NotPrincipal that leaves the anonymous principal in applies to it.
    let not_b = format!(r#"{{"Effect":"Allow","NotPrincipal":{},"Action":"s3:*","Resource":"*"}}"#, aws(ROLE_B));
    check(get().res(&not_b), "allowed (AllowedByResource)");
    // Identity policies do not apply, even an Allow of everything.
    check(get().id(&allow("*", "*")), "implicitDeny (Anonymous)");
    // Nor do SCPs, boundaries or session policies, even their Denies.
    let public = grant(r#""*""#, "s3:GetObject", OBJECT);
    check(get().res(&public).scp(&[&deny("*", "*")]), "allowed (AllowedByResource)");
    check(get().res(&public).pb(&deny("*", "*")).sess(&deny("*", "*")), "allowed (AllowedByResource)");
    check(get().res(&public).id(&deny("*", "*")), "allowed (AllowedByResource)");
    // A Deny in the resource policy or an RCP does apply.
    check(get().res(&format!("{public},{}", refuse(r#""*""#, "s3:*", "*"))), "explicitDeny (ExplicitDeny)");
    check(
        get().res(&public).rcp(&[r#"{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}"#]),
        "explicitDeny (ExplicitDeny)",
    );
    // Conditions see `aws:PrincipalType` `Anonymous` and no principal keys.
    let cond = |op: &str, key: &str, value: &str| {
        format!(
            r#"{{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{{"{op}":{{"{key}":"{value}"}}}}}}"#
        )
    };
    check(get().res(&cond("StringEquals", "aws:PrincipalType", "Anonymous")), "allowed (AllowedByResource)");
    check(get().res(&cond("Null", "aws:PrincipalArn", "true")), "allowed (AllowedByResource)");
    check(get().res(&cond("Null", "aws:PrincipalAccount", "true")), "allowed (AllowedByResource)");
    check(get().res(&cond("StringEquals", "aws:PrincipalAccount", B)), "implicitDeny (Anonymous)");
    // GetCallerIdentity needs a signed request.
    check(req(ANONYMOUS, "sts:GetCallerIdentity", "*").acct(B), "implicitDeny (Anonymous)");
}

/// A request resource with wildcards asks whether some resource it matches is allowed: a
/// statement applies when its pattern and the request's intersect (`docs/simulate.md`, the `simulate`
/// case format).
#[test]
fn wildcard_request_resources() {
    let put = |resource: &str| req(ROLE_B, "s3:PutObject", resource).acct(B);
    let any_object = "arn:aws:s3:::my-bucket/*";
    check(put(any_object).id(&allow("s3:PutObject", OBJECT)), "allowed (AllowedByIdentity)");
    check(put(any_object).id(&allow("s3:PutObject", "arn:aws:s3:::my-bucket/data/*")), "allowed (AllowedByIdentity)");
    check(put(any_object).id(&allow("s3:PutObject", "arn:aws:s3:::other-bucket/*")), "implicitDeny (NoAllow)");
    check(put(any_object).id(&allow("s3:PutObject", BUCKET)), "implicitDeny (NoAllow)");
    check(put(any_object).id(&allow("s3:PutObject", "arn:aws:s3:::*/*.txt")), "allowed (AllowedByIdentity)");
    check(
        put("arn:aws:s3:::my-bucket/*.csv").id(&allow("s3:PutObject", "arn:aws:s3:::*/*.txt")),
        "implicitDeny (NoAllow)",
    );
    check(
        put("arn:aws:s3:::my-bucket/?").id(&allow("s3:PutObject", "arn:aws:s3:::my-bucket/ab")),
        "implicitDeny (NoAllow)",
    );
    check(
        put("arn:aws:s3:::my-bucket/?").id(&allow("s3:PutObject", "arn:aws:s3:::my-bucket/a")),
        "allowed (AllowedByIdentity)",
    );
    // A Deny applies as soon as it meets the request's pattern.
    check(
        put(any_object).id(&allow("s3:*", "*")).id(&deny("s3:PutObject", "arn:aws:s3:::my-bucket/private/*")),
        "explicitDeny (ExplicitDeny)",
    );
    // `*` meets every pattern.
    check(
        req(ROLE_B, "iam:PassRole", "*").id(&allow("iam:PassRole", "arn:aws:iam::222222222222:role/x")),
        "allowed (AllowedByIdentity)",
    );
    // NotResource applies unless one of its entries covers the request's pattern.
    let not = |resource: &str| format!(r#"{{"Effect":"Allow","Action":"s3:*","NotResource":"{resource}"}}"#);
    check(put(any_object).id(&not("arn:aws:s3:::my-bucket/private/*")), "allowed (AllowedByIdentity)");
    check(put(any_object).id(&not("arn:aws:s3:::my-bucket/*")), "implicitDeny (NoAllow)");
    check(put(any_object).id(&not("arn:aws:s3:::*")), "implicitDeny (NoAllow)");
    check(put("arn:aws:s3:::my-bucket/data/*").id(&not("arn:aws:s3:::my-bucket/d*")), "implicitDeny (NoAllow)");
    // The ARN's head parts intersect part by part, without regard to case.
    let role = |resource: &str| req(ROLE_B, "iam:PassRole", resource).acct(B);
    check(
        role("arn:aws:iam::222222222222:role/*").id(&allow("iam:PassRole", "arn:aws:iam::*:role/Reader")),
        "allowed (AllowedByIdentity)",
    );
    check(
        role("arn:aws:iam::222222222222:role/*").id(&allow("iam:PassRole", "arn:aws:iam::333333333333:role/*")),
        "implicitDeny (NoAllow)",
    );
    check(
        role("arn:aws:iam::222222222222:role/*").id(&allow("iam:PassRole", "arn:aws:iam::222222222222:user/*")),
        "implicitDeny (NoAllow)",
    );
    check(
        role("arn:aws:IAM::222222222222:role/My*").id(&allow("iam:PassRole", "arn:aws:iam::222222222222:role/*Role?")),
        "allowed (AllowedByIdentity)",
    );
    // Cross-account, the bucket policy must also meet the pattern.
    check(
        req(SESSION_A, "s3:PutObject", any_object).acct(B).id(&allow("s3:PutObject", "*")).res(&grant(
            &aws(ROLE_A),
            "s3:PutObject",
            "arn:aws:s3:::my-bucket/uploads/*",
        )),
        "allowed (AllowedByBoth)",
    );
    // "Can anyone write into this bucket": an anonymous request on every object.
    check(
        req(ANONYMOUS, "s3:PutObject", any_object).acct(B).res(&grant(
            r#""*""#,
            "s3:PutObject",
            "arn:aws:s3:::my-bucket/public/*",
        )),
        "allowed (AllowedByResource)",
    );
    // A policy variable without a value matches nothing, here too.
    check(
        put(any_object).id(&allow("s3:PutObject", "arn:aws:s3:::my-bucket/${aws:username}/*")),
        "implicitDeny (NoAllow)",
    );
    check(
        req(USER_A, "s3:PutObject", any_object)
            .acct(A)
            .id(&allow("s3:PutObject", "arn:aws:s3:::my-bucket/${aws:username}/*")),
        "allowed (AllowedByIdentity)",
    );
}

/// The rules AWS applies whatever the policies say (see `always`).
#[test]
fn always_rules() {
    let admin = allow("*", "*");
    check(req(ROLE_B, "sts:GetCallerIdentity", "*").id(&deny("*", "*")), "allowed (CallerIdentity)");
    check(req(ROLE_B, "sts:GetCallerIdentity", "*").scp(&[&deny("*", "*")]), "allowed (CallerIdentity)");
    let managed = "arn:aws:iam::aws:policy/AdministratorAccess";
    check(req(ROLE_B, "iam:CreatePolicyVersion", managed).acct(B).id(&admin), "explicitDeny (AwsManaged(Policy))");
    check(req(B, "iam:DeletePolicy", managed).acct(B), "explicitDeny (AwsManaged(Policy))");
    check(req(ROLE_B, "iam:GetPolicy", managed).acct(B).id(&admin), "allowed (AllowedByIdentity)");
    let slr = "arn:aws:iam::222222222222:role/aws-service-role/ops.amazonaws.com/AWSServiceRoleForOps";
    check(req(ROLE_B, "iam:UpdateAssumeRolePolicy", slr).id(&admin), "explicitDeny (AwsManaged(ServiceLinkedRole))");
    check(req(ROLE_B, "iam:PutRolePolicy", slr).id(&admin), "explicitDeny (AwsManaged(ServiceLinkedRole))");
    check(req(ROLE_B, "iam:UpdateRoleDescription", slr).id(&admin), "allowed (AllowedByIdentity)");
    let alias = "arn:aws:kms:us-east-1:222222222222:alias/aws/s3";
    check(req(ROLE_B, "kms:DeleteAlias", alias).id(&admin), "explicitDeny (AwsManaged(KmsAlias))");
    check(
        req(ROLE_B, "kms:UpdateAlias", "arn:aws:kms:us-east-1:222222222222:alias/mine").id(&admin),
        "allowed (AllowedByIdentity)",
    );
}

/// The account root user has every permission in its own account, needs the resource policy
/// across accounts, is bound by SCPs and cannot assume roles (AWS, "Determining whether a
/// request is allowed or denied within an account", "Cross-account policy evaluation logic").
#[test]
fn root_user() {
    let root_b = "arn:aws:iam::222222222222:root";
    check(req(root_b, "s3:GetObject", OBJECT).acct(B), "allowed (AllowedByIdentity)");
    check(req(B, "s3:GetObject", OBJECT).acct(B), "allowed (AllowedByIdentity)");
    check(
        req(root_b, "s3:GetObject", OBJECT).acct(B).res(&refuse(r#""*""#, "s3:*", "*")),
        "explicitDeny (ExplicitDeny)",
    );
    check(req(root_b, "s3:GetObject", OBJECT).acct(B).scp(&[&deny("s3:*", "*")]), "explicitDeny (ExplicitDeny)");
    check(req(root_b, "s3:GetObject", OBJECT).acct(B).scp(&[&allow("ec2:*", "*")]), "implicitDeny (Scp(0))");
    // Identity-side policies cannot be attached to the root user: given ones are ignored.
    check(
        req(root_b, "s3:GetObject", OBJECT).acct(B).id(&deny("*", "*")).pb(&deny("*", "*")),
        "allowed (AllowedByIdentity)",
    );
    // Across accounts the resource policy must name the account or its root.
    check(req(root_b, "s3:GetObject", OBJECT).acct(A), "implicitDeny (CrossAccountNoResourceAllow)");
    check(
        req(root_b, "s3:GetObject", OBJECT).acct(A).res(&grant(&aws(B), "s3:GetObject", OBJECT)),
        "allowed (AllowedByBoth)",
    );
    check(
        req(root_b, "s3:GetObject", OBJECT).acct(A).res(&grant(&aws(root_b), "s3:GetObject", OBJECT)),
        "allowed (AllowedByBoth)",
    );
    // A key policy must still allow the account.
    check(req(root_b, "kms:Decrypt", KEY_B), "implicitDeny (KeyPolicy)");
    check(req(root_b, "kms:Decrypt", KEY_B).res(&grant(&aws(root_b), "kms:*", "*")), "allowed (AllowedByIdentity)");
    check(
        req(root_b, "sts:AssumeRole", ROLE_B).res(&grant(&aws(root_b), "sts:AssumeRole", "*")),
        "implicitDeny (RootAssumeRole)",
    );
    // Derived keys: the root user's aws:PrincipalArn, aws:PrincipalType and aws:userid.
    let cond = |op: &str, key: &str, value: &str| {
        format!(r#"{{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{{"{op}":{{"{key}":"{value}"}}}}}}"#)
    };
    for (op, key, value) in [
        ("ArnEquals", "aws:PrincipalArn", root_b),
        ("StringEquals", "aws:PrincipalType", "Account"),
        ("StringEquals", "aws:userid", B),
        ("StringEquals", "aws:PrincipalAccount", B),
    ] {
        check(
            req(B, "s3:GetObject", OBJECT).acct(B).scp(&[&format!("{},{}", allow("*", "*"), cond(op, key, value))]),
            "explicitDeny (ExplicitDeny)",
        );
    }
}

/// The global keys derived from the principal, per principal kind (AWS, "AWS global condition
/// context keys").
#[test]
fn derived_principal_keys() {
    #[track_caller]
    fn keys(principal: &str, expect: &str) {
        let request = Request::new(principal, "s3:GetObject", OBJECT, Some(B), Context::new()).unwrap();
        let got: Vec<String> =
            ["aws:PrincipalArn", "aws:PrincipalAccount", "aws:PrincipalType", "aws:userid", "aws:username"]
                .iter()
                .map(|k| match request.context().get(k) {
                    Some(Value::Single(v)) => v.clone(),
                    Some(Value::Multi(v)) => v.join("|"),
                    None => "-".to_owned(),
                })
                .collect();
        assert_eq!(got.join(" "), expect, "{principal}");
    }
    keys(SESSION_A, "arn:aws:iam::111111111111:role/MyRoleA 111111111111 AssumedRole - -");
    keys(ROLE_A, "arn:aws:iam::111111111111:role/MyRoleA 111111111111 AssumedRole - -");
    keys(USER_A, "arn:aws:iam::111111111111:user/alice 111111111111 User - alice");
    keys(
        "arn:aws:sts::111111111111:federated-user/bob",
        "arn:aws:sts::111111111111:federated-user/bob 111111111111 FederatedUser 111111111111:bob -",
    );
    keys("arn:aws:iam::111111111111:root", "arn:aws:iam::111111111111:root 111111111111 Account 111111111111 -");
    keys(A, "arn:aws:iam::111111111111:root 111111111111 Account 111111111111 -");
    keys(ANONYMOUS, "- - Anonymous - -");
    keys("ec2.amazonaws.com", "- - - - -");
}

/// A bare principal string in a resource policy is read as `{"AWS": that value}`.
#[test]
fn bare_principal_strings() {
    let get = || req(SESSION_A, "s3:GetObject", OBJECT).acct(B).id(&allow("s3:GetObject", "*"));
    let bare = |p: &str| format!(r#"{{"Effect":"Allow","Principal":"{p}","Action":"s3:GetObject","Resource":"*"}}"#);
    check(get().res(&bare(ROLE_A)), "allowed (AllowedByBoth)");
    check(get().res(&bare(A)), "allowed (AllowedByBoth)");
    check(get().res(&bare("arn:aws:iam::111111111111:root")), "allowed (AllowedByBoth)");
    check(get().res(&bare(ROLE_B)), "implicitDeny (CrossAccountNoResourceAllow)");
    let not = format!(r#"{{"Effect":"Deny","NotPrincipal":"{ROLE_B}","Action":"s3:GetObject","Resource":"*"}}"#);
    check(get().res(&format!("{},{not}", bare(ROLE_A))), "explicitDeny (ExplicitDeny)");
}

fn text() -> impl Strategy<Value = String> {
    prop::string::string_regex("[a-zA-Z0-9:/*?${}, '.-]{0,24}").unwrap()
}

fn arbitrary_document() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        text().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<bool>().prop_map(serde_json::Value::from),
    ];
    let operator = prop_oneof![
        Just("StringEquals".to_owned()),
        Just("ForAnyValue:StringLike".to_owned()),
        Just("ForAllValues:ArnLike".to_owned()),
        Just("NumericLessThanIfExists".to_owned()),
        Just("DateGreaterThan".to_owned()),
        Just("IpAddress".to_owned()),
        Just("NotIpAddress".to_owned()),
        Just("Bool".to_owned()),
        Just("Null".to_owned()),
        Just("BinaryEquals".to_owned()),
        text(),
    ];
    let condition = prop::collection::btree_map(
        operator,
        prop::collection::btree_map(text(), prop::collection::vec(value, 0..3), 0..3),
        0..3,
    );
    let list =
        || prop::collection::vec(prop_oneof![text(), Just("*".to_owned()), Just("arn:aws:s3:::b/*".to_owned())], 0..3);
    let principal = prop_oneof![
        Just(serde_json::json!("*")),
        list().prop_map(|v| serde_json::json!({ "AWS": v })),
        text().prop_map(|v| serde_json::json!({ "Service": v })),
    ];
    let statement =
        (any::<bool>(), any::<bool>(), list(), any::<bool>(), list(), prop::option::of(principal), condition).prop_map(
            |(effect, not_action, actions, not_resource, resources, principal, condition)| {
                let mut s = serde_json::json!({ "Effect": if effect { "Allow" } else { "Deny" } });
                s[if not_action { "NotAction" } else { "Action" }] = actions.into();
                s[if not_resource { "NotResource" } else { "Resource" }] = resources.into();
                if let Some(p) = principal {
                    s["Principal"] = p;
                }
                s["Condition"] = serde_json::to_value(condition).unwrap();
                s
            },
        );
    prop::collection::vec(statement, 0..4)
        .prop_map(|statements| serde_json::json!({"Version": "2012-10-17", "Statement": statements}).to_string())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever the documents and the request, evaluation returns an answer.
    #[test]
    fn never_panics(
        identity in arbitrary_document(),
        resource in arbitrary_document(),
        principal in prop_oneof![text(), Just(SESSION_A.to_owned()), Just("ec2.amazonaws.com".to_owned())],
        action in text(),
        object in text(),
        key in text(),
        value in text(),
    ) {
        let compiled: Vec<CompiledPolicy> = [identity, resource]
            .iter()
            .filter_map(|d| CompiledPolicy::compile(&PolicyDocument::from_json(d).ok()?).ok())
            .collect();
        let context = Context::new().with(&key, value.clone()).with_values("aws:TagKeys", [value]);
        let resource_arn = format!("arn:aws:s3:::{object}");
        for resource in [object.as_str(), resource_arn.as_str(), "*"] {
            if let Ok(request) = Request::new(&principal, &action, resource, Some(B), context.clone()) {
                let set = PolicySet {
                    identity: compiled.iter().collect(),
                    resource: compiled.last(),
                    boundaries: compiled.iter().take(1).collect(),
                    session: compiled.first(),
                    scps: vec![compiled.iter().collect()],
                    rcps: vec![compiled.iter().collect()],
                };
                let d = evaluate(&request, &set);
                prop_assert_eq!(d.decision, decide(&request, &set));
            }
        }
    }
}

/// A document whose actions are drawn from names, patterns and malformed entries around
/// the actions [`compile_for_decides_as_compile`] requests, with a few resources.
fn action_document() -> impl Strategy<Value = String> {
    let action = prop_oneof![
        Just("s3:GetObject"),
        Just("S3:GETOBJECT"),
        Just("s3:Get*"),
        Just("s3:*Object"),
        Just("s3:Put?bject"),
        Just("s3:*"),
        Just("*"),
        Just("kms:Decrypt"),
        Just("s3:Get Object"),
        Just("s3:"),
        Just(":GetObject"),
        Just("s3:G*t*b*e*t"),
        Just("s3:Géto*"),
    ];
    let actions = prop::collection::vec(action, 0..4);
    let resource = prop_oneof![Just("*"), Just(OBJECT), Just("arn:aws:s3:::my-bucket/*"), Just("arn:aws:s3:::other/*")];
    let statement = (any::<bool>(), any::<bool>(), actions, prop::collection::vec(resource, 1..3)).prop_map(
        |(allow, not_action, actions, resources)| {
            let mut s = serde_json::json!({ "Effect": if allow { "Allow" } else { "Deny" }, "Resource": resources });
            s[if not_action { "NotAction" } else { "Action" }] = actions.into();
            s
        },
    );
    prop::collection::vec(statement, 1..5)
        .prop_map(|statements| serde_json::json!({"Version": "2012-10-17", "Statement": statements}).to_string())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// A policy compiled for one request (its statements whose actions leave the request's
    /// out skipped before they are built) decides that request as the whole policy does.
    #[test]
    fn compile_for_decides_as_compile(
        doc in action_document(),
        action in prop_oneof![Just("s3:GetObject"), Just("s3:PutObject"), Just("kms:Decrypt"), Just("s3:getobject")],
        resource in prop_oneof![Just(OBJECT), Just("arn:aws:s3:::my-bucket/*")],
    ) {
        let doc = PolicyDocument::from_json(&doc).unwrap();
        let request = Request::new(SESSION_A, action, resource, Some(A), Context::new()).unwrap();
        let whole = CompiledPolicy::compile(&doc).unwrap();
        let only = CompiledPolicy::compile_for(&doc, &request).unwrap();
        prop_assert!(only.len() <= whole.len());
        let set = |p| PolicySet { identity: vec![p], ..PolicySet::default() };
        let (x, y) = (evaluate(&request, &set(&whole)), evaluate(&request, &set(&only)));
        prop_assert_eq!(x.decision, y.decision);
        prop_assert_eq!(format!("{:?}", x.matched), format!("{:?}", y.matched));
    }
}
