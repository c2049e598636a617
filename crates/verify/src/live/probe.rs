//! The live probes: from account A's credentials, assume MyRoleA, then each owner's role, then
//! write, list, read and delete a canary object; read the bucket's Object Ownership; and, on
//! request, run `dbutils.fs.ls` on the cluster. The canary is the only thing verify ever writes,
//! and it is deleted even when a step fails.

use aws_config::SdkConfig;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_sdk_s3::config::SharedInterceptor;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ObjectCannedAcl;
use policy_model::{Access, Bucket, Flow, Owner};

use crate::chain::{ids, Evaluation, PROBE_PREFIX};
use crate::report::{Link, Status};
use crate::state::State;

use aws_apply::{Accounts, Service};
use policy_model::AccountId;

use super::read::describe;
use super::LiveInputs;

/// Probe link ids: the [`Link::id`]s of the live probes, all starting with `probe:`.
pub mod probe_ids {
    /// Account A's credentials assume MyRoleA.
    pub const ASSUME_A: &str = "probe:assume-a";
    /// MyRoleA assumes the role of the bucket owner with account id `owner`.
    pub fn assume_b(owner: &str) -> String {
        format!("probe:assume-b:{owner}")
    }
    /// The canary object's write, list, read and delete in `bucket` (a bucket name).
    pub fn canary(bucket: &str) -> String {
        format!("probe:canary:{bucket}")
    }
    /// The Object Ownership rule read from `bucket` (a bucket name).
    pub fn ownership(bucket: &str) -> String {
        format!("probe:ownership:{bucket}")
    }
    /// `dbutils.fs.ls` of `bucket` (a bucket name) run on the cluster.
    pub fn on_cluster(bucket: &str) -> String {
        format!("probe:on-cluster:{bucket}")
    }
}

/// How long the probes wait for IAM to propagate a write: an AssumeRole or a canary refused with
/// AccessDenied is tried again after `first_delay`, then after twice as long each time, until
/// `max_wait` in all is spent. IAM is eventually consistent: a change made seconds ago may not be
/// seen yet by STS or S3 ("IAM User Guide: changes that I make are not always immediately visible").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Propagation {
    /// The most time spent waiting, in all, for one probe.
    pub max_wait: std::time::Duration,
    /// The wait before the second attempt.
    pub first_delay: std::time::Duration,
}

impl Propagation {
    /// The bound after a write: waits of 1, 2, 4, 8 and 15 s, 30 s at most per probe.
    pub const AFTER_WRITE: Propagation =
        Propagation { max_wait: std::time::Duration::from_secs(30), first_delay: std::time::Duration::from_secs(1) };

    /// The waits before each next attempt.
    fn delays(self) -> Vec<std::time::Duration> {
        let mut out = Vec::new();
        let (mut spent, mut next) = (std::time::Duration::ZERO, self.first_delay);
        while !next.is_zero() && spent < self.max_wait {
            let delay = next.min(self.max_wait - spent);
            out.push(delay);
            spent += delay;
            next *= 2;
        }
        out
    }
}

/// True when a probe failure reads like a refusal that IAM propagation could explain.
fn denied(text: &str) -> bool {
    ["AccessDenied", "403", "not authorized", "Forbidden"].iter().any(|m| text.contains(m))
}

/// The evidence line of a probe that passed only after waiting.
fn waited_line(attempts: usize, waited: std::time::Duration, bound: Propagation) -> String {
    format!(
        "passed on attempt {attempts}, after waiting {:.1} s for IAM to propagate the last write (retried while refused, {} s at most)",
        waited.as_secs_f64(),
        bound.max_wait.as_secs()
    )
}

const ON_CLUSTER_HINT: &str =
    "run `cargo xtask verify --on-cluster` to probe from the cluster itself, where the instance profile gives MyRoleA";

pub(crate) struct Probes<'a> {
    pub flow: &'a Flow,
    pub inputs: &'a LiveInputs,
    pub state: &'a State,
    pub eval: &'a Evaluation,
    pub links: Vec<Link>,
    pub warnings: Vec<String>,
}

/// One step of the canary.
struct Step {
    name: &'static str,
    /// The actions the step needs: a put with an ACL needs `s3:PutObjectAcl` too.
    actions: &'static [&'static str],
    result: Result<String, String>,
}

impl Probes<'_> {
    fn allowed(&self, id: &str, action: &str) -> Option<bool> {
        self.eval.allowed.get(&(id.to_owned(), action.to_owned())).copied()
    }

    fn sts(&self, accounts: &Accounts, config: &SdkConfig) -> aws_sdk_sts::Client {
        accounts.sts_client(config, &self.inputs.probe_interceptors)
    }

    fn interceptors(&self) -> &[SharedInterceptor] {
        &self.inputs.probe_interceptors
    }

    /// Assumes `role_arn` with the credentials of `config`; returns a config with the session's keys.
    async fn assume(
        &self,
        accounts: &Accounts,
        account: &AccountId,
        config: &SdkConfig,
        role_arn: &str,
    ) -> Result<SdkConfig, String> {
        let session = format!("xacct-verify-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let sts = self.sts(accounts, config);
        let out = accounts
            .call(account, Service::Sts, "AssumeRole", || {
                sts.assume_role().role_arn(role_arn).role_session_name(&session).send()
            })
            .await
            .map_err(|e| describe(&e))?;
        let creds = out.credentials.ok_or_else(|| "AssumeRole returned no credentials".to_owned())?;
        let keys = Credentials::new(
            creds.access_key_id,
            creds.secret_access_key,
            Some(creds.session_token),
            None,
            "xacct-verify",
        );
        Ok(config.to_builder().credentials_provider(SharedCredentialsProvider::new(keys)).build())
    }

    /// The probes after `probe:assume-a`, which need its session: skipped, or unchecked when the
    /// session could not be had for want of credentials.
    fn skip_rest(&mut self, reason: &str, unchecked: bool) {
        let mark = |link: Link| {
            if unchecked {
                link.unchecked(reason)
            } else {
                link.skip(reason, Some(ON_CLUSTER_HINT.to_owned()))
            }
        };
        for owner in self.flow.owners() {
            let id = probe_ids::assume_b(owner.account_id.as_str());
            self.links.push(mark(Link::new(
                id,
                self.flow.deployment().map(|d| d.instance_role_arn()).unwrap_or_default(),
                owner.role_arn(),
                "sts:AssumeRole (live)",
            )));
            for bucket in &owner.buckets {
                self.links.push(mark(Link::new(
                    probe_ids::canary(bucket.name.as_str()),
                    owner.role_arn(),
                    bucket.name.arn(),
                    canary_action(bucket),
                )));
                let ownership = self.ownership(owner, bucket, None);
                self.links.push(ownership);
            }
        }
    }

    pub(crate) async fn run(&mut self) {
        // Without account A there is no instance-profile chain to probe.
        let Some(deployment) = self.flow.deployment() else { return };
        let a = deployment.account_id.clone();
        let a_role = deployment.instance_role_arn();
        let link =
            Link::new(probe_ids::ASSUME_A, format!("account {a}'s credentials"), &a_role, "sts:AssumeRole (live)");
        // The access layer: the probes' clients get its timeouts, and their calls its retries and counting.
        let inputs = self.inputs;
        let Some((accounts, config)) = inputs.aws.as_ref().and_then(|x| Some((x, x.sdk_config(&a)?.clone()))) else {
            let reason = format!("no AWS credentials for account {a}");
            self.links.push(link.unchecked(&reason));
            self.skip_rest(&reason, true);
            return;
        };
        let endpoint = match config.endpoint_url() {
            Some(url) => format!("against the endpoint {url}"),
            None => "against AWS".to_owned(),
        };
        let sts = self.sts(accounts, &config);
        let caller =
            match accounts.call(&a, Service::Sts, "GetCallerIdentity", || sts.get_caller_identity().send()).await {
                Ok(out) => out.arn.unwrap_or_else(|| format!("account {a}")),
                Err(e) => format!("account {a}'s credentials ({})", describe(&e)),
            };
        let link = Link { from: caller.clone(), ..link };
        let a_session = match self.assume(accounts, &a, &config, &a_role).await {
            Ok(session) => {
                self.links
                    .push(link.pass(vec![format!("assumed {a_role} with the credentials of {caller}, {endpoint}")]));
                session
            }
            Err(e) => {
                let reason = format!(
                    "{caller} may not assume {a_role} ({e}); that is expected from a laptop, since {a_role} trusts \
                     ec2.amazonaws.com for its instance profile. xacct never loosens a trust policy to make a probe work"
                );
                self.links.push(link.skip(&reason, Some(ON_CLUSTER_HINT.to_owned())));
                self.skip_rest(&format!("needs a session of {a_role}, which {caller} could not get"), false);
                return;
            }
        };

        for owner in self.flow.owners() {
            let b = owner.account_id.as_str();
            let b_role = owner.role_arn();
            let link = Link::new(probe_ids::assume_b(b), &a_role, &b_role, "sts:AssumeRole (live)");
            let evaluated = match (
                self.allowed(&ids::assume_a_to_b(b), "sts:AssumeRole"),
                self.allowed(&ids::trust_b(b), "sts:AssumeRole"),
            ) {
                (Some(x), Some(y)) => Some(x && y),
                _ => None,
            };
            let mut assumed = self.assume(accounts, &a, &a_session, &b_role).await;
            let (mut attempts, mut waited) = (1, std::time::Duration::ZERO);
            if let Some(bound) = self.inputs.propagation {
                for delay in bound.delays() {
                    match &assumed {
                        Err(e) if denied(e) => {}
                        _ => break,
                    }
                    tokio::time::sleep(delay).await;
                    waited += delay;
                    attempts += 1;
                    assumed = self.assume(accounts, &a, &a_session, &b_role).await;
                }
            }
            let session = match assumed {
                Ok(session) => {
                    let mut evidence = vec![format!("assumed {b_role} from a session of {a_role}, {endpoint}")];
                    if let Some(bound) = self.inputs.propagation.filter(|_| attempts > 1) {
                        evidence.push(waited_line(attempts, waited, bound));
                    }
                    self.links.push(link.pass(evidence));
                    if evaluated == Some(false) {
                        self.disagree(format!(
                            "{a_role} assumed {b_role} live, but the evaluation of links {} and {} says AssumeRole is refused",
                            ids::assume_a_to_b(b),
                            ids::trust_b(b)
                        ));
                    }
                    Some(session)
                }
                Err(e) => {
                    self.links.push(link.fail(
                        vec![format!("AssumeRole on {b_role} from a session of {a_role} failed: {e}")],
                        format!(
                            "an AssumeRole 403 means the trust policy of {b_role} lacks {a_role}, or {a_role}'s policy lacks \
                             sts:AssumeRole on {b_role}: see links {} and {}",
                            ids::trust_b(b),
                            ids::assume_a_to_b(b)
                        ),
                    ));
                    if evaluated == Some(true) {
                        self.disagree(format!(
                            "the evaluation allows {a_role} to assume {b_role}, but the live AssumeRole failed: a policy verify \
                             cannot read (an SCP, a permissions boundary) or IAM propagation delay"
                        ));
                    }
                    None
                }
            };
            for bucket in &owner.buckets {
                let canary = match &session {
                    Some(session) => Some(self.canary_waiting(accounts, session, owner, bucket).await),
                    None => {
                        let id = probe_ids::canary(bucket.name.as_str());
                        self.links.push(
                            Link::new(id, &b_role, bucket.name.arn(), canary_action(bucket))
                                .skip(format!("needs a session of {b_role}, which AssumeRole refused"), None),
                        );
                        None
                    }
                };
                let ownership = self.ownership(owner, bucket, canary.flatten());
                self.links.push(ownership);
            }
        }
    }

    fn disagree(&mut self, what: String) {
        self.warnings.push(format!(
            "disagreement: {what}. Against the emulator this is expected where moto does not enforce a permission \
             (bucket policies, cross-account trust, the cross-account rule; see docs/emulators.md)"
        ));
    }

    /// [`Self::canary`], tried again while refused within [`LiveInputs::propagation`]; the link
    /// that passed after waiting says how long it waited.
    async fn canary_waiting(
        &mut self,
        accounts: &Accounts,
        session: &SdkConfig,
        owner: &Owner,
        bucket: &Bucket,
    ) -> Option<String> {
        let (links, warnings) = (self.links.len(), self.warnings.len());
        let mut owner_id = self.canary(accounts, session, owner, bucket).await;
        let Some(bound) = self.inputs.propagation else { return owner_id };
        let refused = |probes: &Self| {
            probes.links.last().is_some_and(|l| l.status == Status::Fail && l.evidence.iter().any(|e| denied(e)))
        };
        let (mut attempts, mut waited) = (1, std::time::Duration::ZERO);
        for delay in bound.delays() {
            if !refused(self) {
                break;
            }
            // The refused attempt's link and disagreements give way to the next attempt's.
            self.links.truncate(links);
            self.warnings.truncate(warnings);
            tokio::time::sleep(delay).await;
            waited += delay;
            attempts += 1;
            owner_id = self.canary(accounts, session, owner, bucket).await;
        }
        if attempts > 1 {
            if let Some(link) = self.links.last_mut() {
                let line = if link.status == Status::Pass {
                    waited_line(attempts, waited, bound)
                } else {
                    format!(
                        "still refused after {attempts} attempts over {:.1} s of waiting for IAM propagation",
                        waited.as_secs_f64()
                    )
                };
                link.evidence.push(line);
            }
        }
        owner_id
    }

    /// The canary in one bucket. Returns the canary's owner id, when it was listed.
    async fn canary(
        &mut self,
        accounts: &Accounts,
        session: &SdkConfig,
        owner: &Owner,
        bucket: &Bucket,
    ) -> Option<String> {
        let name = bucket.name.as_str();
        let b = &owner.account_id;
        let s3 = accounts.s3_client(session, self.interceptors());
        let key = format!("{PROBE_PREFIX}verify-{}", uuid::Uuid::new_v4());
        let body = format!("xacct verify canary {key}");
        let mut steps: Vec<Step> = Vec::new();
        let mut owner_id = None;
        // Whether an object may have been written and must be deleted at the end.
        let mut written = false;
        let link = Link::new(probe_ids::canary(name), owner.role_arn(), bucket.name.arn(), canary_action(bucket));

        'steps: {
            if bucket.access == Access::ReadWrite {
                let put = accounts
                    .call(b, Service::S3, "PutObject", || {
                        s3.put_object()
                            .bucket(name)
                            .key(&key)
                            .acl(ObjectCannedAcl::BucketOwnerFullControl)
                            .body(ByteStream::from(body.clone().into_bytes()))
                            .send()
                    })
                    .await;
                match put {
                    Ok(_) => {
                        written = true;
                        steps.push(ok("put", PUT, format!("put s3://{name}/{key} with ACL bucket-owner-full-control")));
                    }
                    Err(e) => {
                        // A refusal from S3 wrote nothing; any other failure might have.
                        written = e.as_service_error().is_none();
                        steps.push(failed("put", PUT, describe(&e)));
                        break 'steps;
                    }
                }
            }
            let prefix = if bucket.access == Access::ReadWrite { key.clone() } else { String::new() };
            let list = accounts
                .call(b, Service::S3, "ListObjectsV2", || {
                    s3.list_objects_v2().bucket(name).prefix(&prefix).fetch_owner(true).max_keys(5).send()
                })
                .await;
            match list {
                Ok(out) => {
                    let found = out.contents().iter().find(|o| o.key() == Some(key.as_str()));
                    owner_id = found.and_then(|o| o.owner()).and_then(|o| o.id()).map(str::to_owned);
                    if bucket.access == Access::ReadWrite && found.is_none() {
                        steps.push(failed(
                            "list",
                            LIST,
                            format!("the listing of s3://{name}/{prefix} lacks the canary"),
                        ));
                        break 'steps;
                    }
                    steps.push(ok(
                        "list",
                        LIST,
                        format!("listed s3://{name}/{prefix} ({} keys)", out.key_count().unwrap_or(0)),
                    ));
                }
                Err(e) => {
                    steps.push(failed("list", LIST, describe(&e)));
                    break 'steps;
                }
            }
            if bucket.access == Access::ReadOnly {
                break 'steps;
            }
            match accounts.call(b, Service::S3, "GetObject", || s3.get_object().bucket(name).key(&key).send()).await {
                Ok(out) => {
                    let got = out.body.collect().await.map(|b| b.into_bytes().to_vec()).unwrap_or_default();
                    if got != body.as_bytes() {
                        steps.push(failed("get", GET, "the canary came back with other content".to_owned()));
                        break 'steps;
                    }
                    steps.push(ok("get", GET, "read the canary back".to_owned()));
                }
                Err(e) => {
                    steps.push(failed("get", GET, describe(&e)));
                    break 'steps;
                }
            }
            match accounts
                .call(b, Service::S3, "DeleteObject", || s3.delete_object().bucket(name).key(&key).send())
                .await
            {
                Ok(_) => {
                    written = false;
                    steps.push(ok("delete", DELETE, "deleted the canary".to_owned()));
                }
                Err(e) => steps.push(failed("delete", DELETE, describe(&e))),
            }
        }

        let mut evidence: Vec<String> = Vec::new();
        if written {
            // Clean up without the probe's interceptors: a fault injected into a step must not keep the canary.
            let plain = accounts.s3_client(session, &[]);
            let delete = accounts
                .call(b, Service::S3, "DeleteObject", || plain.delete_object().bucket(name).key(&key).send())
                .await;
            match delete {
                Ok(_) => evidence.push(format!("cleaned up s3://{name}/{key} after the failed step")),
                Err(e) => self.warnings.push(format!(
                    "the canary s3://{name}/{key} may remain: deleting it failed ({}); delete it in account {}",
                    describe(&e),
                    owner.account_id
                )),
            }
        }

        for step in &steps {
            let actions = step.actions.join(" and ");
            let evaluated: Option<bool> = step
                .actions
                .iter()
                .map(|a| self.allowed(&ids::bucket(name), a))
                .try_fold(true, |all, one| one.map(|one| all && one));
            match (&step.result, evaluated) {
                (Ok(_), Some(false)) => self.disagree(format!(
                    "the canary {} ({actions}) succeeded on s3://{name}, but the evaluation of link {} says it is not allowed",
                    step.name,
                    ids::bucket(name)
                )),
                (Err(_), Some(true)) => self.disagree(format!(
                    "the evaluation of link {} allows {actions} on s3://{name}, but the canary {} failed",
                    ids::bucket(name),
                    step.name
                )),
                _ => {}
            }
        }
        let mut lines: Vec<String> = steps
            .iter()
            .map(|s| match &s.result {
                Ok(text) => format!("{}: {text}", s.name),
                Err(e) => format!("{} ({}) failed: {e}", s.name, s.actions.join(", ")),
            })
            .collect();
        lines.extend(evidence);
        match steps.iter().find(|s| s.result.is_err()) {
            None => self.links.push(link.pass(lines)),
            Some(step) => {
                let fix = format!(
                    "{} was refused for {} on {name}: see links {} and {} (a KMS key that refuses shows as a plain AccessDenied)",
                    step.actions.join(" and "),
                    owner.role_arn(),
                    ids::bucket(name),
                    ids::kms(name)
                );
                self.links.push(link.fail(lines, fix));
            }
        }
        owner_id
    }

    /// Object ownership: with the flow's AssumeRole, MyRoleB writes, and it is in the bucket
    /// owner's account; the ownership setting decides what happens to the ACL the cluster sends.
    fn ownership(&self, owner: &Owner, bucket: &Bucket, canary_owner: Option<String>) -> Link {
        let name = bucket.name.as_str();
        let b = owner.account_id.as_str();
        let link = Link::new(
            probe_ids::ownership(name),
            owner.role_arn(),
            bucket.name.arn(),
            "objects owned by the bucket owner",
        );
        let Some(state) = self.state.buckets.get(name) else {
            return link.skip(format!("bucket {name} could not be read"), None);
        };
        let mut evidence = Vec::new();
        match state.ownership.as_deref() {
            Some("BucketOwnerEnforced") => evidence.push(format!(
                "Object Ownership of {name} is BucketOwnerEnforced: ACLs are disabled and account {b} owns every object; \
                 the bucket-owner-full-control ACL the cluster sends is accepted, any other ACL fails with AccessControlListNotSupported"
            )),
            Some("BucketOwnerPreferred") => evidence.push(format!(
                "Object Ownership of {name} is BucketOwnerPreferred: objects written with bucket-owner-full-control \
                 (spark.hadoop.fs.s3a.acl.default BucketOwnerFullControl) belong to account {b}"
            )),
            Some(other) => evidence.push(format!(
                "Object Ownership of {name} is {other}: the writer owns each object; {} is in account {b}, the bucket owner, \
                 so its objects are the owner's, but writers from other accounts keep theirs",
                owner.role_arn()
            )),
            None => evidence.push(format!(
                "Object Ownership of {name} is not set (ObjectWriter): the writer owns each object; {} is in account {b}, the bucket owner",
                owner.role_arn()
            )),
        }
        match canary_owner {
            Some(id) => evidence.push(format!(
                "the canary's owner is canonical user {id}, and the writer {} is in the bucket owner's account {b} \
                 (the emulator reports one fixed owner for every object, so this is read from the setting, not enforced)",
                owner.role_arn()
            )),
            None => evidence.push("no canary was listed, so its owner was not read".to_owned()),
        }
        if state
            .ownership
            .as_deref()
            .is_some_and(|o| o != "BucketOwnerEnforced" && o != "BucketOwnerPreferred" && o != "ObjectWriter")
        {
            return link.fail(
                evidence,
                format!(
                    "set Object Ownership of {name} in account {b} to BucketOwnerEnforced: aws s3api put-bucket-ownership-controls \
                     --bucket {name} --ownership-controls 'Rules=[{{ObjectOwnership=BucketOwnerEnforced}}]'"
                ),
            );
        }
        link.pass(evidence)
    }
}

fn ok(name: &'static str, actions: &'static [&'static str], text: String) -> Step {
    Step { name, actions, result: Ok(text) }
}

fn failed(name: &'static str, actions: &'static [&'static str], error: String) -> Step {
    Step { name, actions, result: Err(error) }
}

const PUT: &[&str] = &["s3:PutObject", "s3:PutObjectAcl"];
const LIST: &[&str] = &["s3:ListBucket"];
const GET: &[&str] = &["s3:GetObject"];
const DELETE: &[&str] = &["s3:DeleteObject"];

fn canary_action(bucket: &Bucket) -> &'static str {
    match bucket.access {
        Access::ReadWrite => "put (bucket-owner-full-control), list, get, delete _xacct/verify-<uuid>",
        Access::ReadOnly => "list",
    }
}

/// `--on-cluster`: `dbutils.fs.ls("s3a://<bucket>/")` on the cluster, for each bucket.
pub(crate) async fn on_cluster(
    flow: &Flow,
    inputs: &LiveInputs,
    eval: &Evaluation,
    warnings: &mut Vec<String>,
) -> Vec<Link> {
    let mut links = Vec::new();
    for (_, bucket) in flow.buckets() {
        let name = bucket.name.as_str();
        let path = format!("s3a://{name}/");
        let link = Link::new(probe_ids::on_cluster(name), "the cluster", &path, format!("dbutils.fs.ls(\"{path}\")"));
        let (Some(client), Some(cluster_id)) = (&inputs.databricks, &inputs.cluster_id) else {
            links.push(link.skip("--on-cluster needs the [databricks] section with a cluster_id", None));
            continue;
        };
        let link = Link { from: format!("cluster {cluster_id}"), ..link };
        match client.get_cluster(cluster_id).await {
            Ok(info) if info.state == databricks_client::ClusterState::Running => {}
            Ok(info) => {
                links.push(link.skip(
                    format!("cluster {cluster_id} is {}; xacct does not start it for a check", info.state),
                    Some(format!("start cluster {cluster_id} and run again")),
                ));
                continue;
            }
            Err(e) => {
                links.push(link.skip(format!("clusters/get `{cluster_id}`: {e}"), None));
                continue;
            }
        }
        let command = format!(
            "_xacct_files = dbutils.fs.ls({path:?})\nprint(len(_xacct_files), [f.name for f in _xacct_files[:5]])\n"
        );
        // The links a read through the running cluster depends on (PassRole only matters at launch).
        let owner = flow.owners().iter().find(|o| o.buckets.iter().any(|x| x.name == bucket.name));
        let relevant = |id: &str| match owner {
            Some(o) => {
                let b = o.account_id.as_str();
                [
                    ids::INSTANCE_PROFILE.to_owned(),
                    ids::SCP.to_owned(),
                    ids::DATABRICKS.to_owned(),
                    ids::assume_a_to_b(b),
                    ids::trust_b(b),
                    ids::bucket(name),
                    ids::kms(name),
                ]
                .iter()
                .any(|x| x == id)
            }
            None => true,
        };
        let chain_ok = eval.links.iter().filter(|l| relevant(&l.id)).all(|l| l.status != Status::Fail);
        match client.run_command(cluster_id, databricks_client::Language::Python, &command).await {
            Ok(result) if result.is_success() => {
                let printed = result.text().unwrap_or_default().trim().to_owned();
                links.push(link.pass(vec![format!("dbutils.fs.ls(\"{path}\") printed: {printed}")]));
                if !chain_ok {
                    warnings.push(format!(
                        "disagreement: dbutils.fs.ls(\"{path}\") worked on the cluster, but the evaluation fails a link it depends on"
                    ));
                }
            }
            Ok(result) => {
                let cause = result.failure().unwrap_or_default();
                let first = cause.lines().next().unwrap_or_default().to_owned();
                links.push(
                    link.fail(vec![format!("dbutils.fs.ls(\"{path}\") raised: {first}")], on_cluster_fix(&cause, name)),
                );
                if chain_ok {
                    warnings.push(format!(
                        "disagreement: every evaluated link passes, but dbutils.fs.ls(\"{path}\") failed on the cluster: \
                         a policy verify cannot read, IAM propagation delay, or a cluster that has not restarted since its conf changed"
                    ));
                }
            }
            Err(e) => links.push(link.skip(format!("command execution failed: {e}"), None)),
        }
    }
    links
}

fn on_cluster_fix(cause: &str, bucket: &str) -> String {
    if cause.contains("403") || cause.contains("AccessDenied") || cause.contains("Forbidden") {
        format!(
            "S3 refused the cluster on {bucket}: check the links above (trust-b, bucket, kms), and that the cluster was \
             restarted after its Spark conf changed"
        )
    } else if cause.contains("KMS") || cause.contains("kms") {
        format!("the KMS key of {bucket} refused the cluster: see link {}", ids::kms(bucket))
    } else {
        format!("read the exception above; the cluster's Spark conf for {bucket} is checked by link databricks")
    }
}

#[cfg(test)]
mod propagation_tests {
    use std::time::Duration;

    use super::Propagation;

    #[test]
    fn the_waits_double_within_the_bound() {
        let secs = |s: &[u64]| s.iter().map(|s| Duration::from_secs(*s)).collect::<Vec<_>>();
        assert_eq!(Propagation::AFTER_WRITE.delays(), secs(&[1, 2, 4, 8, 15]), "30 s at most in all");
        let none = Propagation { max_wait: Duration::ZERO, first_delay: Duration::from_secs(1) };
        assert!(none.delays().is_empty());
    }
}
