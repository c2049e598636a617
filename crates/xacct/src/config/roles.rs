//! `[roles]`: what an organization demands of every role xacct creates.

use std::ops::Range;

use aws_apply::RoleSettings;
use policy_model::AccountId;
use toml_edit::TableLike;

use super::Cx;

const ROLES_KEYS: &[&str] = &["permissions_boundary", "path", "tags"];

/// IAM's most tags per role, less the ones xacct adds itself.
const MAX_TAGS: usize = 50 - 2;

/// The characters IAM allows in a tag key or value: letters, digits, white space and `_ . : / = + - @`.
fn tag_chars_ok(s: &str) -> bool {
    s.chars().all(|c| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c))
}

fn policy_name_ok(s: &str) -> bool {
    !s.is_empty() && s.len() <= 128 && s.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
}

/// Checks `arn:<partition>:iam::<account or aws>:policy/<path/><name>`.
fn policy_arn_ok(s: &str) -> bool {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    let [arn, partition, service, region, account, resource] = parts[..] else { return false };
    let account_ok = account == "aws" || AccountId::is_valid(account);
    let name = resource.strip_prefix("policy/").and_then(|r| r.rsplit('/').next());
    arn == "arn"
        && matches!(partition, "aws" | "aws-cn" | "aws-us-gov")
        && service == "iam"
        && region.is_empty()
        && account_ok
        && name.is_some_and(policy_name_ok)
}

/// The roles xacct creates (the instance role and each owner's role, in either access mode)
/// under `path`; the cross-account role is someone else's and keeps its name as it is.
pub(super) fn with_path(path: Option<&str>, mut parts: policy_model::FlowParts) -> policy_model::FlowParts {
    let Some(path) = path else { return parts };
    // The path was checked when `[roles]` was read.
    let at = |role: &policy_model::RoleName| role.clone().with_path(path).unwrap_or_else(|_| role.clone());
    if let Some(deployment) = &mut parts.deployment {
        deployment.instance_role = at(&deployment.instance_role);
    }
    for owner in &mut parts.owners {
        match owner {
            policy_model::OwnerEntry::InstanceProfile(owner) => owner.role = at(&owner.role),
            policy_model::OwnerEntry::UnityCatalog(owner) => owner.role = at(&owner.role),
        }
    }
    parts
}

impl Cx<'_> {
    /// The `[roles]` table, every problem reported: the settings, and the role path when one is set.
    pub(super) fn roles(&mut self, t: &dyn TableLike) -> (RoleSettings, Option<String>) {
        self.known_keys(t, ROLES_KEYS, "[roles]");
        let mut settings = RoleSettings::default();
        if let Some((boundary, span)) = self.opt_str(t, "permissions_boundary") {
            let ok = if boundary.starts_with("arn:") { policy_arn_ok(&boundary) } else { policy_name_ok(&boundary) };
            if ok {
                settings.permissions_boundary = Some(boundary);
            } else {
                self.error(
                    span,
                    format!(
                        "`permissions_boundary` `{boundary}` is neither a managed policy name (letters, digits and `+=,.@_-`) \
                         nor a policy ARN such as `arn:aws:iam::111111111111:policy/org-boundary`"
                    ),
                );
            }
        }
        let mut role_path = None;
        if let Some((path, span)) = self.opt_str(t, "path") {
            match policy_model::RoleName::new("x").map(|n| n.with_path(&path)) {
                Ok(Ok(_)) => role_path = Some(path),
                Ok(Err(e)) | Err(e) => self.error(span, e.to_string()),
            }
        }
        if let Some(item) = t.get("tags") {
            let span = Self::key_span(t, "tags");
            match item.as_table_like() {
                None => self.error(span, "`tags` must be a table of strings, such as `{ team = \"data\" }`".to_owned()),
                Some(tags) => self.tags(tags, span, &mut settings),
            }
        }
        (settings, role_path)
    }

    /// `[deployment] cross_account_policy`: a policy name, and only with `cross_account_role`.
    pub(super) fn cross_account_policy(&mut self, t: &dyn TableLike) -> Option<String> {
        let (name, span) = self.opt_str(t, "cross_account_policy")?;
        if !policy_name_ok(&name) {
            self.error(
                span,
                format!(
                    "`cross_account_policy` `{name}` is not an IAM policy name: 1 to 128 letters, digits and `+=,.@_-`"
                ),
            );
            return None;
        }
        if t.get("cross_account_role").is_none() {
            self.error(
                span,
                "`cross_account_policy` names an inline policy of `cross_account_role`, which is not set".to_owned(),
            );
            return None;
        }
        Some(name)
    }

    fn tags(&mut self, tags: &dyn TableLike, span: Range<usize>, settings: &mut RoleSettings) {
        for (key, value) in tags.iter() {
            let at = Self::key_span(tags, key);
            let Some(value) = value.as_str() else {
                self.error(at, format!("tag `{key}` must have a string value"));
                continue;
            };
            let lower = key.to_ascii_lowercase();
            let problem = if key.is_empty() || key.chars().count() > 128 {
                Some("a tag key has 1 to 128 characters".to_owned())
            } else if lower.starts_with("aws:") || lower.starts_with("xacct:") {
                Some("keys starting with `aws:` or `xacct:` are reserved".to_owned())
            } else if key.chars().any(char::is_whitespace) {
                Some("xacct lists the keys it manages separated by spaces, so a key has none".to_owned())
            } else if !tag_chars_ok(key) || !tag_chars_ok(value) {
                Some("IAM allows letters, digits, spaces and `_ . : / = + - @` only".to_owned())
            } else if value.chars().count() > 256 {
                Some("a tag value has at most 256 characters".to_owned())
            } else {
                None
            };
            match problem {
                Some(why) => self.error(at, format!("tag `{key}` = `{value}` is refused: {why}")),
                None => {
                    settings.tags.insert(key.to_owned(), value.to_owned());
                }
            }
        }
        if settings.tags.len() > MAX_TAGS {
            self.error(
                span,
                format!("`tags` has {} tags; a role has at most 50, and xacct adds 2 of its own", settings.tags.len()),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse;

    const BASE: &str = r#"
[deployment]
account_id = "111111111111"
instance_role = "MyRoleA"

[[bucket_owners]]
account_id = "222222222222"
role = "MyRoleB"
  [[bucket_owners.buckets]]
  name = "my-bucket"
  access = "read-write"
"#;

    #[track_caller]
    fn check(roles: &str, expect: expect_test::Expect) {
        let got = match parse(&format!("{BASE}\n[roles]\n{roles}\n")) {
            Ok(config) => {
                let r = &config.roles;
                let a = config.flow.deployment().unwrap().account_id.clone();
                let path = config.flow.owners()[0].role_arn();
                format!("ok: boundary {:?}, tags {:?}, {path}", r.boundary_arn(&a), r.tags)
            }
            Err(findings) => findings.iter().map(|f| format!("{}:{}: {}\n", f.line, f.column, f.message)).collect(),
        };
        expect.assert_eq(&got);
    }

    #[test]
    fn cross_account_policy() {
        use expect_test::expect;
        #[track_caller]
        fn deployment(extra: &str, expect: expect_test::Expect) {
            let text = BASE.replace("instance_role = \"MyRoleA\"", &format!("instance_role = \"MyRoleA\"\n{extra}"));
            let got = match parse(&text) {
                Ok(config) => format!("ok: {:?}", config.roles.cross_account_policy),
                Err(findings) => findings.iter().map(|f| format!("{}:{}: {}\n", f.line, f.column, f.message)).collect(),
            };
            expect.assert_eq(&got);
        }
        deployment("cross_account_role = \"x\"\ncross_account_policy = \"launch\"", expect![[r#"ok: Some("launch")"#]]);
        deployment("", expect!["ok: None"]);
        deployment(
            "cross_account_policy = \"launch\"",
            expect![[r#"
            5:24: `cross_account_policy` names an inline policy of `cross_account_role`, which is not set
        "#]],
        );
        deployment(
            "cross_account_role = \"x\"\ncross_account_policy = \"no spaces\"",
            expect![[r#"
            6:24: `cross_account_policy` `no spaces` is not an IAM policy name: 1 to 128 letters, digits and `+=,.@_-`
        "#]],
        );
    }

    #[test]
    fn roles_section() {
        use expect_test::expect;
        check(
            r#"permissions_boundary = "org-role-boundary"
tags = { team = "data-platform", cost-center = "1234" }"#,
            expect![[
                r#"ok: boundary Some("arn:aws:iam::111111111111:policy/org-role-boundary"), tags {"cost-center": "1234", "team": "data-platform"}, arn:aws:iam::222222222222:role/MyRoleB"#
            ]],
        );
        check(
            r#"permissions_boundary = "arn:aws:iam::999999999999:policy/org/boundary""#,
            expect![[
                r#"ok: boundary Some("arn:aws:iam::999999999999:policy/org/boundary"), tags {}, arn:aws:iam::222222222222:role/MyRoleB"#
            ]],
        );
        check(
            r#"path = "/xacct/""#,
            expect!["ok: boundary None, tags {}, arn:aws:iam::222222222222:role/xacct/MyRoleB"],
        );
        check(
            r#"path = "xacct""#,
            expect![[r#"
            14:8: role path `xacct` breaks the rule: it starts and ends with `/`
        "#]],
        );
        check(r#"path = "/""#, expect!["ok: boundary None, tags {}, arn:aws:iam::222222222222:role/MyRoleB"]);
        check(
            r#"permissions_boundary = "org boundary"
path = "/xacct/"
tags = { "aws:x" = "1", "a b" = "2", ok = "x!", n = 3 }
boundry = 1"#,
            expect![[r#"
                14:24: `permissions_boundary` `org boundary` is neither a managed policy name (letters, digits and `+=,.@_-`) nor a policy ARN such as `arn:aws:iam::111111111111:policy/org-boundary`
                16:20: tag `aws:x` = `1` is refused: keys starting with `aws:` or `xacct:` are reserved
                16:33: tag `a b` = `2` is refused: xacct lists the keys it manages separated by spaces, so a key has none
                16:43: tag `ok` = `x!` is refused: IAM allows letters, digits, spaces and `_ . : / = + - @` only
                16:53: tag `n` must have a string value
                17:1: unknown key `boundry` in [roles]; expected one of `permissions_boundary`, `path`, `tags`
            "#]],
        );
    }
}
