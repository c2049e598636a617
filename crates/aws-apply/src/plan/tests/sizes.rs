//! Sizes before any write: the sum of a role's inline policies, each document near its limit,
//! and the PassRole statement merged into a policy the config names.

use super::*;

/// An identity policy of about `chars` characters without whitespace.
fn big_identity(sid: &str, chars: usize) -> PolicyDocument {
    let resources: Vec<String> =
        (0..chars / 40).map(|i| format!("\"arn:aws:s3:::some-other-bucket-{i:08}/*\"")).collect();
    doc(&format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"{sid}","Effect":"Allow","Action":"s3:GetObject","Resource":[{}]}}]}}"#,
        resources.join(",")
    ))
}

fn cross_arn() -> String {
    format!("arn:aws:iam::{A}:role/databricks-cross-account")
}

#[test]
fn the_inline_policies_of_a_role_are_limited_together() {
    let mut observed = shared();
    let cross = observed.roles.get_mut(&cross_arn()).unwrap();
    cross.inline.insert("launch".to_owned(), big_identity("Launch", 10_000));
    let err = plan(&flow(), &observed).unwrap_err();
    expect!["inline policies of role databricks-cross-account together (with xacct-pass-instance-role) would be 11347 characters, over the limit of 10240"]
        .assert_eq(&err.to_string());

    // Past 80 % the plan shows it, and still plans.
    let cross = observed.roles.get_mut(&cross_arn()).unwrap();
    cross.inline.insert("launch".to_owned(), big_identity("Launch", 8_400));
    let planned = plan(&flow(), &observed).unwrap();
    expect![[r#"
        near their size limit:
            inline policies of role databricks-cross-account together (with xacct-pass-instance-role): 9587 of 10240 characters (93%)
    "#]]
    .assert_eq(&planned.to_string()[planned.to_string().find("near").unwrap()..]);
    assert_eq!(planned.sizes.len(), 1, "{:?}", planned.sizes);
}

#[test]
fn a_bucket_policy_near_its_limit_is_shown_in_bytes() {
    let mut observed = fresh();
    let statements: Vec<String> = (0..85)
        .map(|i| format!(r#"{{"Sid":"Reader {i}","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{B}:root"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::my-bucket/reader number {i:04} with a long prefix/*"}}"#))
        .collect();
    let policy = doc(&format!(r#"{{"Version":"2012-10-17","Statement":[{}]}}"#, statements.join(",")));
    observed.buckets.get_mut("my-bucket").unwrap().policy = Some(policy);
    let planned = plan(&flow(), &observed).unwrap();
    let sizes: Vec<String> = planned.sizes.iter().map(ToString::to_string).collect();
    expect![[r#"["bucket policy of my-bucket: 16598 of 20480 bytes (81%)"]"#]].assert_eq(&format!("{sizes:?}"));
}

#[test]
fn pass_role_goes_into_the_policy_the_config_names() {
    let settings = RoleSettings { cross_account_policy: Some("launch".to_owned()), ..RoleSettings::default() };
    let err = plan_with(&flow(), &shared(), &settings, &BTreeMap::new()).unwrap_err();
    expect!["inline policy `launch` of role `arn:aws:iam::111111111111:role/databricks-cross-account` does not exist: `cross_account_policy` names an existing inline policy to merge the PassRole statement into; fix the name, or leave it out to have xacct write its own policy"]
        .assert_eq(&err.to_string());

    let mut observed = fresh();
    let cross = observed.roles.get_mut(&cross_arn()).unwrap();
    cross.inline.insert("launch".to_owned(), doc(FOREIGN_PASS_ROLE));
    let planned = plan_with(&flow(), &observed, &settings, &BTreeMap::new()).unwrap();
    let change = planned.changes.iter().find(|c| c.resource.contains("databricks-cross-account")).unwrap();
    assert_eq!(change.resource, "inline policy launch of role databricks-cross-account");
    let after = doc(change.after.as_deref().unwrap());
    let sids: Vec<_> = after.statement.iter().map(|s| s.sid.clone().unwrap_or_default()).collect();
    assert_eq!(sids, ["Ec2", "XacctPassRoleMyRoleA"]);
    let done = simulate(&observed, &planned);
    assert!(plan_with(&flow(), &done, &settings, &BTreeMap::new()).unwrap().is_converged());
    assert!(!done.roles[&cross_arn()].inline.contains_key(PASS_ROLE_POLICY_NAME));

    // Destroy takes our statement out of it and leaves the rest.
    let destroy = plan_destroy_with(&flow(), &done, &settings);
    let left = simulate(&done, &destroy);
    let launch = &left.roles[&cross_arn()].inline["launch"];
    assert_eq!(launch.statement.len(), 1);
    assert_eq!(launch.statement[0].sid.as_deref(), Some("Ec2"));
}

fn managed_names(plan: &Plan) -> Vec<String> {
    plan.changes
        .iter()
        .filter(|c| c.resource.starts_with("managed policy"))
        .map(|c| format!("{} {}", c.resource, c.action))
        .collect()
}

/// Past the inline limit, MyRoleA's assume statement goes to customer managed policies of at
/// most 6,144 characters, attached to the role; a smaller config later goes back inline and the
/// managed policies are detached and deleted; destroy deletes them too.
#[test]
fn the_assume_statement_moves_between_inline_and_managed_policies() {
    let (big, observed) = super::owners(300);
    let planned = plan(&big, &observed).unwrap();
    expect![[r#"
        [
            "managed policy xacct-assume-bucket-owner-roles-1 of role MyRoleA create",
            "managed policy xacct-assume-bucket-owner-roles-2 of role MyRoleA create",
            "managed policy xacct-assume-bucket-owner-roles-3 of role MyRoleA create",
        ]
    "#]]
    .assert_debug_eq(&managed_names(&planned));
    assert!(!planned
        .changes
        .iter()
        .any(|c| c.resource.contains(ASSUME_POLICY_NAME) && c.resource.starts_with("inline")));
    let done = simulate(&observed, &planned);
    let role_a = &done.roles[&format!("arn:aws:iam::{A}:role/MyRoleA")];
    assert_eq!(role_a.attached.len(), 3);
    assert!(plan(&big, &done).unwrap().is_converged());

    // Fewer owners: back inline, and the managed policies go once the inline one is in.
    let (small, _) = super::owners(200);
    let back = plan(&small, &done).unwrap();
    expect![[r#"
        [
            "managed policy xacct-assume-bucket-owner-roles-1 of role MyRoleA delete",
            "managed policy xacct-assume-bucket-owner-roles-2 of role MyRoleA delete",
            "managed policy xacct-assume-bucket-owner-roles-3 of role MyRoleA delete",
        ]
    "#]]
    .assert_debug_eq(&managed_names(&back));
    let inline = back
        .changes
        .iter()
        .find(|c| c.resource == format!("inline policy {ASSUME_POLICY_NAME} of role MyRoleA"))
        .unwrap();
    let drop = back.changes.iter().find(|c| c.resource.starts_with("managed policy")).unwrap();
    assert_eq!(
        drop.after_keys,
        std::slice::from_ref(&inline.key),
        "the inline policy is written before the managed ones go"
    );

    // Destroy deletes them before the role.
    let destroy = plan_destroy(&big, &done);
    assert_eq!(managed_names(&destroy).len(), 3, "{destroy}");
}

/// The managed policies must fit next to those already attached: 10 per role by default.
#[test]
fn managed_assume_policies_count_against_the_attachment_quota() {
    let (big, mut observed) = super::owners(300);
    let role_a = observed.roles.entry(format!("arn:aws:iam::{A}:role/MyRoleA")).or_default();
    role_a.tags = BTreeMap::from([(crate::MANAGED_TAG_KEY.to_owned(), crate::MANAGED_TAG_VALUE.to_owned())]);
    role_a.trust = Some(build::instance_role_trust());
    for i in 0..8 {
        role_a.attached.insert(format!("arn:aws:iam::{A}:policy/team-{i}"), doc(FOREIGN_PASS_ROLE));
    }
    let err = plan(&big, &observed).unwrap_err();
    expect!["the instance role's sts:AssumeRole statement on 300 owner roles is 12434 characters without whitespace, 2194 over IAM's limit of 10240 for a role's inline policies; spread over managed policies it needs 3, and the role already has 8 other managed policies attached: 1 more than the 10 IAM attaches to a role by default. Detach some, ask AWS to raise the quota, or split the owners over several instance roles"]
        .assert_eq(&err.to_string());
}
