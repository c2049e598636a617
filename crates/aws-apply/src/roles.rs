//! What an organization demands of every role xacct creates (the config's `[roles]`): a
//! permissions boundary and tags. Many organizations allow `iam:CreateRole` only with both (an
//! SCP enforces it), so xacct sets them when it creates a role, and a plan against a role of
//! its own whose boundary or tags differ brings them back.
//!
//! The tag keys the config sets are recorded in the tag [`TAG_KEYS_TAG`], so that a key taken
//! out of the config is untagged on the next run while tags others set stay.

use std::collections::BTreeMap;

use policy_model::AccountId;

use crate::{MANAGED_TAG_KEY, MANAGED_TAG_VALUE};

/// The tag that lists, separated by spaces, the keys of the config's tags on a role.
pub const TAG_KEYS_TAG: &str = "xacct:tag-keys";

/// The `[roles]` settings. The default asks for nothing beyond xacct's own tag.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleSettings {
    /// A managed policy name, resolved in each account as `arn:aws:iam::<account>:policy/<name>`,
    /// or a full ARN.
    pub permissions_boundary: Option<String>,
    /// Tags added to xacct's own on every role it creates.
    pub tags: BTreeMap<String, String>,
    /// The config's `[deployment] cross_account_policy`: an existing inline policy of the
    /// cross-account role to merge the PassRole statement into, instead of xacct's own
    /// [`PASS_ROLE_POLICY_NAME`](policy_model::build::PASS_ROLE_POLICY_NAME).
    pub cross_account_policy: Option<String>,
}

impl RoleSettings {
    /// True when the settings ask for nothing.
    pub fn is_default(&self) -> bool {
        self.permissions_boundary.is_none() && self.tags.is_empty()
    }

    /// The inline policy of the cross-account role that holds the PassRole statement.
    pub fn pass_role_policy(&self) -> &str {
        self.cross_account_policy.as_deref().unwrap_or(policy_model::build::PASS_ROLE_POLICY_NAME)
    }

    /// The boundary's ARN for a role in `account`, when one is asked for.
    pub fn boundary_arn(&self, account: &AccountId) -> Option<String> {
        let boundary = self.permissions_boundary.as_deref()?;
        Some(if boundary.starts_with("arn:") {
            boundary.to_owned()
        } else {
            format!("arn:aws:iam::{account}:policy/{}", boundary.trim_start_matches('/'))
        })
    }

    /// Every tag a role xacct creates carries: the config's, xacct's own, and the list of the config's keys.
    pub fn tags(&self) -> BTreeMap<String, String> {
        let mut tags = self.tags.clone();
        tags.insert(MANAGED_TAG_KEY.to_owned(), MANAGED_TAG_VALUE.to_owned());
        if !self.tags.is_empty() {
            tags.insert(TAG_KEYS_TAG.to_owned(), self.tags.keys().cloned().collect::<Vec<_>>().join(" "));
        }
        tags
    }

    /// What to change on a role of ours that has `have`: the tags to set and the keys to remove.
    /// Only tags xacct manages are touched: its own, the config's, and the keys an earlier
    /// config set (listed in [`TAG_KEYS_TAG`]).
    pub fn tag_changes(&self, have: &BTreeMap<String, String>) -> (BTreeMap<String, String>, Vec<String>) {
        let want = self.tags();
        let set: BTreeMap<String, String> =
            want.iter().filter(|(k, v)| have.get(*k) != Some(*v)).map(|(k, v)| (k.clone(), v.clone())).collect();
        let mut earlier: Vec<String> = have
            .get(TAG_KEYS_TAG)
            .map(|keys| keys.split(' ').filter(|k| !k.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default();
        if self.tags.is_empty() && have.contains_key(TAG_KEYS_TAG) {
            earlier.push(TAG_KEYS_TAG.to_owned());
        }
        let unset = earlier.into_iter().filter(|k| !want.contains_key(k) && have.contains_key(k)).collect();
        (set, unset)
    }
}

/// What an AccessDenied on a role write most likely means in an organization, and the config
/// key that meets it; `None` for the calls it does not apply to.
pub fn access_denied_hint(call: &str) -> Option<&'static str> {
    match call {
        "CreateRole" | "PutRolePermissionsBoundary" | "TagRole" => Some(
            "many organizations allow iam:CreateRole only with a permissions boundary or required tags (an SCP \
             condition on `iam:PermissionsBoundary` or `aws:RequestTag/…`): set `[roles] permissions_boundary` \
             and `[roles] tags` in the config to what the organization requires",
        ),
        "PutRolePolicy" | "UpdateAssumeRolePolicy" => Some(
            "an SCP or permissions boundary often allows policy writes only on roles that carry the required \
             boundary or tags: set `[roles] permissions_boundary` and `[roles] tags` to what it requires, and \
             re-run so that xacct's roles get them",
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(boundary: Option<&str>, tags: &[(&str, &str)]) -> RoleSettings {
        RoleSettings {
            permissions_boundary: boundary.map(str::to_owned),
            tags: tags.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            cross_account_policy: None,
        }
    }

    fn map(tags: &[(&str, &str)]) -> BTreeMap<String, String> {
        tags.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[track_caller]
    fn check(s: &RoleSettings, have: &[(&str, &str)], set: &[(&str, &str)], unset: &[&str]) {
        let (got_set, got_unset) = s.tag_changes(&map(have));
        assert_eq!(got_set, map(set));
        assert_eq!(got_unset, unset);
    }

    #[test]
    fn the_boundary_is_resolved_per_account() {
        let account = AccountId::new("222222222222").unwrap();
        let arn = "arn:aws:iam::999999999999:policy/org/boundary";
        assert_eq!(
            settings(Some("org-boundary"), &[]).boundary_arn(&account).unwrap(),
            "arn:aws:iam::222222222222:policy/org-boundary"
        );
        assert_eq!(settings(Some(arn), &[]).boundary_arn(&account).unwrap(), arn);
        assert_eq!(settings(None, &[]).boundary_arn(&account), None);
    }

    #[test]
    fn only_the_tags_xacct_manages_change() {
        let m = (MANAGED_TAG_KEY, MANAGED_TAG_VALUE);
        let team = settings(None, &[("team", "data")]);
        check(&team, &[m], &[("team", "data"), (TAG_KEYS_TAG, "team")], &[]);
        check(&team, &[m, ("team", "data"), (TAG_KEYS_TAG, "team"), ("owner", "x")], &[], &[]);
        check(&team, &[m, ("team", "old"), (TAG_KEYS_TAG, "team")], &[("team", "data")], &[]);
        // A key an earlier config set goes; a key someone else set stays.
        check(
            &team,
            &[m, ("cost", "1"), ("team", "data"), (TAG_KEYS_TAG, "cost team"), ("owner", "x")],
            &[(TAG_KEYS_TAG, "team")],
            &["cost"],
        );
        check(&settings(None, &[]), &[m, ("team", "data"), (TAG_KEYS_TAG, "team")], &[], &["team", TAG_KEYS_TAG]);
        check(&settings(None, &[]), &[m], &[], &[]);
    }
}
