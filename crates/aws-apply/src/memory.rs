//! An in-memory backend of the [`backend`](crate::backend) traits, for tests:
//! IAM, S3, KMS and STS of any number of accounts as plain data, with the
//! error codes AWS gives (`NoSuchEntity`, `EntityAlreadyExists`,
//! `LimitExceeded`, `DeleteConflict`), pages of a chosen size, counted calls,
//! an optional delay per call (to see concurrency), a log of the writes, and
//! an injected failure at the k-th write, before or after it takes effect, and a hook that
//! plays another writer: it may change an account just before any call takes effect.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use policy_model::AccountId;

use crate::accounts::{is_write, ApiCalls, Error, Service};
use crate::backend::{
    Aws, BucketPolicy, Iam, Identity, Kms, ManagedPolicy, Page, PolicyVersion, ProfileInfo, ProfileRole, RoleInfo, Sts,
    S3,
};
use crate::intercept::FailAt;

/// A role, as the in-memory IAM keeps it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemRole {
    /// The trust policy, compact JSON.
    pub trust: String,
    /// The role's tags.
    pub tags: BTreeMap<String, String>,
    /// Inline policies by name.
    pub inline: BTreeMap<String, String>,
    /// ARNs of attached managed policies.
    pub attached: Vec<String>,
    /// The permissions boundary ARN.
    pub boundary: Option<String>,
    /// The IAM path, when not `/`.
    pub path: Option<String>,
}

/// A managed policy: its versions and which is the default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemPolicy {
    /// Version id → document.
    pub versions: BTreeMap<String, String>,
    /// The default version id. `None` models a GetPolicy answer without `DefaultVersionId`.
    pub default_version: Option<String>,
    /// The version ListPolicyVersions marks as default (normally `default_version`).
    pub listed_default: Option<String>,
}

/// One account's resources.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemAccount {
    /// Roles by name.
    pub roles: BTreeMap<String, MemRole>,
    /// Instance profiles by name: tags and the names of the roles held.
    pub profiles: BTreeMap<String, (BTreeMap<String, String>, Vec<String>)>,
    /// The IAM paths of instance profiles created with one other than `/`.
    pub profile_paths: BTreeMap<String, String>,
    /// Managed policies by ARN.
    pub policies: BTreeMap<String, MemPolicy>,
    /// Buckets by name, with their policy.
    pub buckets: BTreeMap<String, Option<String>>,
    /// Object Ownership by bucket.
    pub ownership: BTreeMap<String, String>,
    /// KMS key policies by key ARN.
    pub keys: BTreeMap<String, String>,
}

/// Another writer: called with the account, the call and its resource just before each call
/// takes effect, and may change the account's resources.
pub type Hook = Box<dyn Fn(&AccountId, &str, &str, &mut MemAccount) + Send + Sync>;

struct HookSlot(Option<Hook>);

impl std::fmt::Debug for HookSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "Some(hook)" } else { "None" })
    }
}

/// The in-memory AWS.
#[derive(Debug)]
pub struct Memory {
    hook: HookSlot,
    accounts: Mutex<BTreeMap<AccountId, MemAccount>>,
    calls: Mutex<ApiCalls>,
    log: Mutex<Vec<String>>,
    page_size: usize,
    delay: Duration,
    fail: Option<(usize, FailAt)>,
    writes: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

impl Memory {
    /// Empty accounts for these ids.
    pub fn new<'a>(accounts: impl IntoIterator<Item = &'a AccountId>) -> Memory {
        Memory {
            hook: HookSlot(None),
            accounts: Mutex::new(accounts.into_iter().map(|a| (a.clone(), MemAccount::default())).collect()),
            calls: Mutex::default(),
            log: Mutex::default(),
            page_size: 100,
            delay: Duration::ZERO,
            fail: None,
            writes: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
        }
    }

    /// List calls return at most `n` items per page (at least 1).
    pub fn with_page_size(mut self, n: usize) -> Memory {
        self.page_size = n.max(1);
        self
    }

    /// Every call waits `delay` (on the tokio clock) while it is under way.
    pub fn with_delay(mut self, delay: Duration) -> Memory {
        self.delay = delay;
        self
    }

    /// The k-th write (1-based) fails, before or after it takes effect; `k = 0` fails nothing.
    pub fn failing_write(mut self, k: usize, at: FailAt) -> Memory {
        self.fail = (k > 0).then_some((k, at));
        self
    }

    /// Runs `hook` just before each call takes effect, as another writer would.
    pub fn with_hook(mut self, hook: Hook) -> Memory {
        self.hook = HookSlot(Some(hook));
        self
    }

    /// Changes one account's resources directly (no call is counted).
    pub fn edit<T>(&self, account: &AccountId, f: impl FnOnce(&mut MemAccount) -> T) -> T {
        let mut accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        f(accounts.entry(account.clone()).or_default())
    }

    /// A copy of every account's resources.
    pub fn snapshot(&self) -> BTreeMap<AccountId, MemAccount> {
        self.accounts.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The writes made, in order: `<account> <Operation> <resource>`.
    pub fn writes_log(&self) -> Vec<String> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The most calls that were under way at once.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    /// Runs one call: counts it, waits the delay, injects the failure, then runs `f` on the account.
    async fn run<T>(
        &self,
        account: &AccountId,
        service: Service,
        call: &'static str,
        resource: &str,
        f: impl FnOnce(&mut MemAccount) -> Result<T, (String, String)>,
    ) -> Result<T, Error> {
        if let Ok(mut calls) = self.calls.lock() {
            let counts = calls.by_account.entry(account.clone()).or_default().entry(service).or_default();
            if is_write(call) {
                counts.writes += 1;
            } else {
                counts.reads += 1;
            }
        }
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        let failure = |at: FailAt| Error::Call {
            account: account.clone(),
            service,
            call,
            code: None,
            message: format!("injected failure at {call} of {resource} ({at:?})"),
        };
        let mut fail_after = None;
        if is_write(call) {
            let n = self.writes.fetch_add(1, Ordering::SeqCst) + 1;
            match self.fail {
                Some((k, FailAt::BeforeSend)) if k == n => return Err(failure(FailAt::BeforeSend)),
                Some((k, FailAt::AfterSend)) if k == n => fail_after = Some(failure(FailAt::AfterSend)),
                _ => {}
            }
        }
        let result = {
            let mut accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
            let Some(state) = accounts.get_mut(account) else { return Err(Error::NoAccount(account.clone())) };
            if let Some(hook) = &self.hook.0 {
                hook(account, call, resource, state);
            }
            f(state)
        };
        let out = result.map_err(|(code, message)| Error::Call {
            account: account.clone(),
            service,
            call,
            code: Some(code),
            message,
        })?;
        if is_write(call) {
            if let Ok(mut log) = self.log.lock() {
                log.push(format!("{account} {call} {resource}"));
            }
        }
        match fail_after {
            Some(err) => Err(err),
            None => Ok(out),
        }
    }

    fn page<T: Clone>(&self, items: &[T], marker: Option<String>) -> Page<T> {
        let start: usize = marker.and_then(|m| m.parse().ok()).unwrap_or(0);
        let end = (start + self.page_size).min(items.len());
        let next = (end < items.len()).then(|| end.to_string());
        Page { items: items.get(start..end).map(<[T]>::to_vec).unwrap_or_default(), next }
    }
}

fn no_such(what: &str) -> (String, String) {
    ("NoSuchEntity".to_owned(), format!("{what} cannot be found"))
}

fn role_arn(account: &AccountId, name: &str, path: Option<&str>) -> String {
    format!("arn:aws:iam::{account}:role{}{name}", path.unwrap_or("/"))
}

impl Iam for Memory {
    async fn get_role(&self, account: &AccountId, name: &str) -> Result<Option<RoleInfo>, Error> {
        self.run(account, Service::Iam, "GetRole", name, |a| {
            Ok(a.roles.get(name).map(|r| RoleInfo {
                arn: role_arn(account, name, r.path.as_deref()),
                trust: Some(r.trust.clone()),
                tags: r.tags.clone(),
                boundary: r.boundary.clone(),
                // Kept out of the state, so that snapshots of two runs compare equal.
                created: None,
            }))
        })
        .await
    }

    async fn list_role_policies(
        &self,
        account: &AccountId,
        role: &str,
        marker: Option<String>,
    ) -> Result<Page<String>, Error> {
        let names = self
            .run(account, Service::Iam, "ListRolePolicies", role, |a| {
                let r = a.roles.get(role).ok_or_else(|| no_such(&format!("role {role}")))?;
                Ok(r.inline.keys().cloned().collect::<Vec<_>>())
            })
            .await?;
        Ok(self.page(&names, marker))
    }

    async fn get_role_policy(&self, account: &AccountId, role: &str, name: &str) -> Result<Option<String>, Error> {
        self.run(account, Service::Iam, "GetRolePolicy", role, |a| {
            Ok(a.roles.get(role).and_then(|r| r.inline.get(name)).cloned())
        })
        .await
    }

    async fn list_attached_role_policies(
        &self,
        account: &AccountId,
        role: &str,
        marker: Option<String>,
    ) -> Result<Page<String>, Error> {
        let arns = self
            .run(account, Service::Iam, "ListAttachedRolePolicies", role, |a| {
                Ok(a.roles.get(role).ok_or_else(|| no_such(&format!("role {role}")))?.attached.clone())
            })
            .await?;
        Ok(self.page(&arns, marker))
    }

    async fn get_policy(&self, account: &AccountId, arn: &str) -> Result<Option<ManagedPolicy>, Error> {
        self.run(account, Service::Iam, "GetPolicy", arn, |a| {
            Ok(a.policies.get(arn).map(|p| ManagedPolicy { default_version: p.default_version.clone() }))
        })
        .await
    }

    async fn list_policy_versions(
        &self,
        account: &AccountId,
        arn: &str,
        marker: Option<String>,
    ) -> Result<Page<PolicyVersion>, Error> {
        let versions = self
            .run(account, Service::Iam, "ListPolicyVersions", arn, |a| {
                let p = a.policies.get(arn).ok_or_else(|| no_such(&format!("policy {arn}")))?;
                let default = p.listed_default.as_ref().or(p.default_version.as_ref());
                Ok(p.versions
                    .keys()
                    .map(|id| PolicyVersion { id: id.clone(), is_default: Some(id) == default })
                    .collect::<Vec<_>>())
            })
            .await?;
        Ok(self.page(&versions, marker))
    }

    async fn get_policy_version(&self, account: &AccountId, arn: &str, version: &str) -> Result<Option<String>, Error> {
        self.run(account, Service::Iam, "GetPolicyVersion", arn, |a| {
            Ok(a.policies.get(arn).and_then(|p| p.versions.get(version)).cloned())
        })
        .await
    }

    async fn get_instance_profile(&self, account: &AccountId, name: &str) -> Result<Option<ProfileInfo>, Error> {
        self.run(account, Service::Iam, "GetInstanceProfile", name, |a| {
            Ok(a.profiles.get(name).map(|(tags, roles)| ProfileInfo {
                tags: tags.clone(),
                roles: roles
                    .iter()
                    .map(|r| {
                        let path = a.roles.get(r).and_then(|role| role.path.as_deref());
                        ProfileRole { name: r.clone(), arn: role_arn(account, r, path) }
                    })
                    .collect(),
            }))
        })
        .await
    }

    async fn list_instance_profiles_for_role(
        &self,
        account: &AccountId,
        role: &str,
        marker: Option<String>,
    ) -> Result<Page<String>, Error> {
        let names = self
            .run(account, Service::Iam, "ListInstanceProfilesForRole", role, |a| {
                Ok(a.profiles
                    .iter()
                    .filter(|(_, (_, roles))| roles.iter().any(|r| r == role))
                    .map(|(n, _)| n.clone())
                    .collect::<Vec<_>>())
            })
            .await?;
        Ok(self.page(&names, marker))
    }

    async fn create_role(
        &self,
        account: &AccountId,
        name: &str,
        trust: &str,
        tags: &BTreeMap<String, String>,
        boundary: Option<&str>,
        path: Option<&str>,
    ) -> Result<(), Error> {
        self.run(account, Service::Iam, "CreateRole", name, |a| {
            if a.roles.contains_key(name) {
                return Err(("EntityAlreadyExists".to_owned(), format!("Role with name {name} already exists.")));
            }
            let role = MemRole {
                trust: trust.to_owned(),
                tags: tags.clone(),
                boundary: boundary.map(str::to_owned),
                path: path.map(str::to_owned),
                ..MemRole::default()
            };
            a.roles.insert(name.to_owned(), role);
            Ok(())
        })
        .await
    }

    async fn create_policy(&self, account: &AccountId, name: &str, doc: &str) -> Result<(), Error> {
        let arn = format!("arn:aws:iam::{account}:policy/{name}");
        self.run(account, Service::Iam, "CreatePolicy", &arn, |a| {
            if a.policies.contains_key(&arn) {
                return Err(("EntityAlreadyExists".to_owned(), format!("A policy called {name} already exists.")));
            }
            let policy = MemPolicy {
                versions: BTreeMap::from([("v1".to_owned(), doc.to_owned())]),
                default_version: Some("v1".to_owned()),
                listed_default: None,
            };
            a.policies.insert(arn.clone(), policy);
            Ok(())
        })
        .await
    }

    async fn create_policy_version(&self, account: &AccountId, arn: &str, doc: &str) -> Result<(), Error> {
        self.run(account, Service::Iam, "CreatePolicyVersion", arn, |a| {
            let p = a.policies.get_mut(arn).ok_or_else(|| no_such(&format!("policy {arn}")))?;
            if p.versions.len() >= 5 {
                let message = "A managed policy can have up to 5 versions.".to_owned();
                return Err(("LimitExceeded".to_owned(), message));
            }
            let next =
                p.versions.keys().filter_map(|v| v.trim_start_matches('v').parse::<u32>().ok()).max().unwrap_or(0) + 1;
            let id = format!("v{next}");
            p.versions.insert(id.clone(), doc.to_owned());
            p.default_version = Some(id);
            p.listed_default = None;
            Ok(())
        })
        .await
    }

    async fn delete_policy_version(&self, account: &AccountId, arn: &str, version: &str) -> Result<(), Error> {
        self.run(account, Service::Iam, "DeletePolicyVersion", arn, |a| {
            let p = a.policies.get_mut(arn).ok_or_else(|| no_such(&format!("policy {arn}")))?;
            if p.default_version.as_deref() == Some(version) {
                return Err(("DeleteConflict".to_owned(), "Cannot delete the default version of a policy.".to_owned()));
            }
            p.versions.remove(version).map(drop).ok_or_else(|| no_such(&format!("version {version}")))
        })
        .await
    }

    async fn delete_policy(&self, account: &AccountId, arn: &str) -> Result<(), Error> {
        self.run(account, Service::Iam, "DeletePolicy", arn, |a| {
            let p = a.policies.get(arn).ok_or_else(|| no_such(&format!("policy {arn}")))?;
            let attached = a.roles.values().any(|r| r.attached.iter().any(|x| x == arn));
            if attached || p.versions.len() > 1 {
                let message = "Cannot delete a policy attached to entities or with versions other than the default.";
                return Err(("DeleteConflict".to_owned(), message.to_owned()));
            }
            a.policies.remove(arn);
            Ok(())
        })
        .await
    }

    async fn attach_role_policy(&self, account: &AccountId, role: &str, arn: &str) -> Result<(), Error> {
        self.run(account, Service::Iam, "AttachRolePolicy", &format!("{role}/{arn}"), |a| {
            if !a.policies.contains_key(arn) {
                return Err(no_such(&format!("policy {arn}")));
            }
            let r = a.roles.get_mut(role).ok_or_else(|| no_such(&format!("role {role}")))?;
            if !r.attached.iter().any(|x| x == arn) {
                r.attached.push(arn.to_owned());
            }
            Ok(())
        })
        .await
    }

    async fn put_role_permissions_boundary(&self, account: &AccountId, role: &str, arn: &str) -> Result<(), Error> {
        self.run(account, Service::Iam, "PutRolePermissionsBoundary", role, |a| {
            a.roles.get_mut(role).ok_or_else(|| no_such(&format!("role {role}")))?.boundary = Some(arn.to_owned());
            Ok(())
        })
        .await
    }

    async fn tag_role(&self, account: &AccountId, role: &str, tags: &BTreeMap<String, String>) -> Result<(), Error> {
        self.run(account, Service::Iam, "TagRole", role, |a| {
            let r = a.roles.get_mut(role).ok_or_else(|| no_such(&format!("role {role}")))?;
            r.tags.extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
            Ok(())
        })
        .await
    }

    async fn untag_role(&self, account: &AccountId, role: &str, keys: &[String]) -> Result<(), Error> {
        self.run(account, Service::Iam, "UntagRole", role, |a| {
            let r = a.roles.get_mut(role).ok_or_else(|| no_such(&format!("role {role}")))?;
            r.tags.retain(|k, _| !keys.contains(k));
            Ok(())
        })
        .await
    }

    async fn update_assume_role_policy(&self, account: &AccountId, role: &str, doc: &str) -> Result<(), Error> {
        self.run(account, Service::Iam, "UpdateAssumeRolePolicy", role, |a| {
            a.roles.get_mut(role).ok_or_else(|| no_such(&format!("role {role}")))?.trust = doc.to_owned();
            Ok(())
        })
        .await
    }

    async fn put_role_policy(&self, account: &AccountId, role: &str, name: &str, doc: &str) -> Result<(), Error> {
        self.run(account, Service::Iam, "PutRolePolicy", &format!("{role}/{name}"), |a| {
            let r = a.roles.get_mut(role).ok_or_else(|| no_such(&format!("role {role}")))?;
            r.inline.insert(name.to_owned(), doc.to_owned());
            Ok(())
        })
        .await
    }

    async fn delete_role_policy(&self, account: &AccountId, role: &str, name: &str) -> Result<(), Error> {
        self.run(account, Service::Iam, "DeleteRolePolicy", &format!("{role}/{name}"), |a| {
            let r = a.roles.get_mut(role).ok_or_else(|| no_such(&format!("role {role}")))?;
            r.inline.remove(name).map(drop).ok_or_else(|| no_such(&format!("policy {name}")))
        })
        .await
    }

    async fn detach_role_policy(&self, account: &AccountId, role: &str, arn: &str) -> Result<(), Error> {
        self.run(account, Service::Iam, "DetachRolePolicy", &format!("{role}/{arn}"), |a| {
            let r = a.roles.get_mut(role).ok_or_else(|| no_such(&format!("role {role}")))?;
            let before = r.attached.len();
            r.attached.retain(|p| p != arn);
            if r.attached.len() == before {
                return Err(no_such(&format!("policy {arn}")));
            }
            Ok(())
        })
        .await
    }

    async fn create_instance_profile(
        &self,
        account: &AccountId,
        name: &str,
        tags: &BTreeMap<String, String>,
        path: Option<&str>,
    ) -> Result<(), Error> {
        self.run(account, Service::Iam, "CreateInstanceProfile", name, |a| {
            if a.profiles.contains_key(name) {
                return Err(("EntityAlreadyExists".to_owned(), format!("Instance Profile {name} already exists.")));
            }
            a.profiles.insert(name.to_owned(), (tags.clone(), Vec::new()));
            if let Some(path) = path {
                a.profile_paths.insert(name.to_owned(), path.to_owned());
            }
            Ok(())
        })
        .await
    }

    async fn add_role_to_instance_profile(&self, account: &AccountId, profile: &str, role: &str) -> Result<(), Error> {
        self.run(account, Service::Iam, "AddRoleToInstanceProfile", profile, |a| {
            if !a.roles.contains_key(role) {
                return Err(no_such(&format!("role {role}")));
            }
            let (_, roles) = a.profiles.get_mut(profile).ok_or_else(|| no_such(&format!("profile {profile}")))?;
            if !roles.is_empty() {
                let message = "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1".to_owned();
                return Err(("LimitExceeded".to_owned(), message));
            }
            roles.push(role.to_owned());
            Ok(())
        })
        .await
    }

    async fn remove_role_from_instance_profile(
        &self,
        account: &AccountId,
        profile: &str,
        role: &str,
    ) -> Result<(), Error> {
        self.run(account, Service::Iam, "RemoveRoleFromInstanceProfile", profile, |a| {
            let (_, roles) = a.profiles.get_mut(profile).ok_or_else(|| no_such(&format!("profile {profile}")))?;
            let before = roles.len();
            roles.retain(|r| r != role);
            if roles.len() == before {
                return Err(no_such(&format!("role {role} in profile {profile}")));
            }
            Ok(())
        })
        .await
    }

    async fn delete_instance_profile(&self, account: &AccountId, name: &str) -> Result<(), Error> {
        self.run(account, Service::Iam, "DeleteInstanceProfile", name, |a| match a.profiles.get(name) {
            None => Err(no_such(&format!("profile {name}"))),
            Some((_, roles)) if !roles.is_empty() => Err((
                "DeleteConflict".to_owned(),
                "Cannot delete entity, must remove roles from instance profile first.".to_owned(),
            )),
            Some(_) => {
                a.profiles.remove(name);
                Ok(())
            }
        })
        .await
    }

    async fn delete_role(&self, account: &AccountId, name: &str) -> Result<(), Error> {
        self.run(account, Service::Iam, "DeleteRole", name, |a| {
            let r = a.roles.get(name).ok_or_else(|| no_such(&format!("role {name}")))?;
            let in_profile = a.profiles.values().any(|(_, roles)| roles.iter().any(|x| x == name));
            if !r.inline.is_empty() || !r.attached.is_empty() || in_profile {
                return Err((
                    "DeleteConflict".to_owned(),
                    format!("Cannot delete entity, role {name} has policies or profiles"),
                ));
            }
            a.roles.remove(name);
            Ok(())
        })
        .await
    }
}

impl S3 for Memory {
    async fn get_bucket_policy(&self, account: &AccountId, bucket: &str) -> Result<BucketPolicy, Error> {
        self.run(account, Service::S3, "GetBucketPolicy", bucket, |a| {
            Ok(match a.buckets.get(bucket) {
                None => BucketPolicy::NoBucket,
                Some(None) => BucketPolicy::None,
                Some(Some(p)) => BucketPolicy::Some(p.clone()),
            })
        })
        .await
    }

    async fn get_bucket_ownership(&self, account: &AccountId, bucket: &str) -> Result<Option<String>, Error> {
        self.run(account, Service::S3, "GetBucketOwnershipControls", bucket, |a| Ok(a.ownership.get(bucket).cloned()))
            .await
    }

    async fn put_bucket_policy(&self, account: &AccountId, bucket: &str, doc: &str) -> Result<(), Error> {
        self.run(account, Service::S3, "PutBucketPolicy", bucket, |a| {
            let slot = a.buckets.get_mut(bucket).ok_or_else(|| ("NoSuchBucket".to_owned(), bucket.to_owned()))?;
            *slot = Some(doc.to_owned());
            Ok(())
        })
        .await
    }

    async fn delete_bucket_policy(&self, account: &AccountId, bucket: &str) -> Result<(), Error> {
        self.run(account, Service::S3, "DeleteBucketPolicy", bucket, |a| {
            let slot = a.buckets.get_mut(bucket).ok_or_else(|| ("NoSuchBucket".to_owned(), bucket.to_owned()))?;
            *slot = None;
            Ok(())
        })
        .await
    }
}

impl Kms for Memory {
    async fn get_key_policy(&self, account: &AccountId, key_arn: &str) -> Result<Option<String>, Error> {
        self.run(account, Service::Kms, "GetKeyPolicy", key_arn, |a| Ok(a.keys.get(key_arn).cloned())).await
    }

    async fn put_key_policy(&self, account: &AccountId, key_arn: &str, doc: &str) -> Result<(), Error> {
        self.run(account, Service::Kms, "PutKeyPolicy", key_arn, |a| {
            let slot = a.keys.get_mut(key_arn).ok_or_else(|| ("NotFoundException".to_owned(), key_arn.to_owned()))?;
            *slot = doc.to_owned();
            Ok(())
        })
        .await
    }
}

impl Sts for Memory {
    async fn get_caller_identity(&self, account: &AccountId) -> Result<Identity, Error> {
        let arn = format!("arn:aws:sts::{account}:assumed-role/deployer/memory");
        self.run(account, Service::Sts, "GetCallerIdentity", "", |_| Ok(Identity { account: account.to_string(), arn }))
            .await
    }
}

impl Aws for Memory {
    fn api_calls(&self) -> ApiCalls {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }
}
