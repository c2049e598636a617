//! `[roles]`: the boundary and tags of every role xacct creates, and of its own roles that drifted.

use super::*;
use crate::roles::TAG_KEYS_TAG;

fn settings() -> RoleSettings {
    RoleSettings {
        permissions_boundary: Some("org-boundary".to_owned()),
        tags: BTreeMap::from([("team".to_owned(), "data".to_owned())]),
        cross_account_policy: None,
    }
}

/// The ops of the changes whose resource starts with `prefix`, one line each.
fn ops(plan: &Plan, prefix: &str) -> String {
    let mut out = String::new();
    for change in plan.changes.iter().filter(|c| c.resource.starts_with(prefix)) {
        out.push_str(&format!("{} {}: {}\n", change.account, change.resource, change.action));
        for op in &change.ops {
            let line = match op {
                Op::CreateRole { name, tags, boundary, .. } => format!("CreateRole {name} {boundary:?} {tags:?}"),
                Op::PutRolePermissionsBoundary { role, arn } => format!("PutRolePermissionsBoundary {role} {arn}"),
                Op::TagRole { role, tags } => format!("TagRole {role} {tags:?}"),
                Op::UntagRole { role, keys } => format!("UntagRole {role} {keys:?}"),
                other => format!("{other:?}"),
            };
            out.push_str(&format!("    {line}\n"));
        }
    }
    out
}

#[track_caller]
fn check(settings: &RoleSettings, observed: &Observed, prefix: &str, expect: Expect) {
    expect.assert_eq(&ops(&plan_with(&flow(), observed, settings, &BTreeMap::new()).unwrap(), prefix));
}

#[test]
fn every_role_xacct_creates_carries_the_boundary_and_tags() {
    check(
        &settings(),
        &fresh(),
        "role ",
        expect![[r#"
            111111111111 role MyRoleA: create
                CreateRole MyRoleA Some("arn:aws:iam::111111111111:policy/org-boundary") {"team": "data", "xacct:managed": "true", "xacct:tag-keys": "team"}
            222222222222 role MyRoleB: create
                CreateRole MyRoleB Some("arn:aws:iam::222222222222:policy/org-boundary") {"team": "data", "xacct:managed": "true", "xacct:tag-keys": "team"}
        "#]],
    );
}

#[test]
fn a_role_of_ours_whose_boundary_or_tags_drifted_is_brought_back() {
    let s = settings();
    let done = simulate(&fresh(), &plan_with(&flow(), &fresh(), &s, &BTreeMap::new()).unwrap());
    assert!(plan_with(&flow(), &done, &s, &BTreeMap::new()).unwrap().is_converged());
    check(
        &s,
        &done,
        "boundary and tags",
        expect![[r#"
            111111111111 boundary and tags of role MyRoleA: no-op
            222222222222 boundary and tags of role MyRoleB: no-op
        "#]],
    );

    let mut drifted = done.clone();
    let role_b = drifted.roles.get_mut(&format!("arn:aws:iam::{B}:role/MyRoleB")).unwrap();
    role_b.boundary = Some(crate::model::Boundary { arn: format!("arn:aws:iam::{B}:policy/other"), document: None });
    role_b.tags.insert("team".to_owned(), "someone-else".to_owned());
    role_b.tags.insert("owner".to_owned(), "not-ours".to_owned());
    let role_a = drifted.roles.get_mut(&format!("arn:aws:iam::{A}:role/MyRoleA")).unwrap();
    role_a.tags.insert("cost".to_owned(), "1".to_owned());
    role_a.tags.insert(TAG_KEYS_TAG.to_owned(), "cost team".to_owned());
    check(
        &s,
        &drifted,
        "boundary and tags",
        expect![[r#"
            111111111111 boundary and tags of role MyRoleA: update
                TagRole MyRoleA {"xacct:tag-keys": "team"}
                UntagRole MyRoleA ["cost"]
            222222222222 boundary and tags of role MyRoleB: update
                PutRolePermissionsBoundary MyRoleB arn:aws:iam::222222222222:policy/org-boundary
                TagRole MyRoleB {"team": "data"}
        "#]],
    );
    let fixed = simulate(&drifted, &plan_with(&flow(), &drifted, &s, &BTreeMap::new()).unwrap());
    assert!(plan_with(&flow(), &fixed, &s, &BTreeMap::new()).unwrap().is_converged());
    let role_b = &fixed.roles[&format!("arn:aws:iam::{B}:role/MyRoleB")];
    assert_eq!(role_b.tags.get("owner").map(String::as_str), Some("not-ours"), "a tag others set stays");

    // A role someone else created keeps its boundary and tags: xacct only merges into its trust.
    let mut foreign = done;
    let role_b = foreign.roles.get_mut(&format!("arn:aws:iam::{B}:role/MyRoleB")).unwrap();
    role_b.tags.clear();
    check(&s, &foreign, "boundary and tags of role MyRoleB", expect![""]);
}

#[test]
fn a_default_config_plans_no_boundary_or_tag_change() {
    let done = converged(&fresh());
    check(&RoleSettings::default(), &done, "boundary and tags", expect![""]);
}

/// A statement of ours whose principal IAM now shows as a unique ID (the role was deleted and
/// recreated) is written again with the ARN: re-provisioning is the fix verify names.
#[test]
fn a_rotted_principal_is_written_again() {
    let mut done = converged(&fresh());
    let bucket = done.buckets.get_mut("my-bucket").unwrap().policy.as_mut().unwrap();
    bucket.statement[0].principal = Some(serde_json::from_str(r#"{"AWS":"AROAEXAMPLEID1234567"}"#).unwrap());
    let planned = plan(&flow(), &done).unwrap();
    let change = planned.changes.iter().find(|c| c.resource == "bucket policy of my-bucket").unwrap();
    assert_eq!(change.action, Action::Update);
    assert!(change.diff.as_deref().unwrap().contains("-        \"AWS\": \"AROAEXAMPLEID1234567\""), "{planned}");
    assert!(plan(&flow(), &simulate(&done, &planned)).unwrap().is_converged());
}
