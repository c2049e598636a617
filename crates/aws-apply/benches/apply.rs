//! How many calls a fresh apply makes, and what concurrency buys, against moto.
//!
//! Run by `cargo xtask bench`. Each benchmark starts its own moto through
//! testkit, and every sample gets a freshly reset emulator; only `apply` is
//! timed (the observe and plan before it are not).
//!
//! **The minimum for a fresh one-bucket apply** (account A with the instance
//! role and an existing cross-account role, one owner, one bucket, no KMS key)
//! is 12 calls, 5 reads and 7 writes:
//! - writes: CreateRole for each of the two roles (trust policy and ownership
//!   tag in the same call), CreateInstanceProfile (tag included),
//!   AddRoleToInstanceProfile, PutRolePolicy for the assume policy,
//!   PutRolePolicy for the merged PassRole policy, PutBucketPolicy. IAM has
//!   no call that does two of these at once.
//! - reads: a shared document must be read before it is written, or foreign
//!   statements are lost: GetRolePolicy (the PassRole policy) and
//!   GetBucketPolicy. And a plan that shows create or update before any write
//!   must know what exists: GetRole for both roles and GetInstanceProfile. A
//!   blind create that treats "already exists" as success would save those
//!   three, but could not show a plan, tell a role xacct made from one it did
//!   not, or repair drift.
//!
//! xacct makes one read more when the cross-account role has no PassRole
//! policy yet: GetRolePolicy then says only "no such entity", which does not
//! tell a missing policy from a missing role, so a GetRole follows.

#![expect(clippy::unwrap_used, reason = "a benchmark stops loudly when the emulator or a fixture fails")]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_apply::{Accounts, ApplyOptions};
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use policy_model::{Access, AccountId, Bucket, BucketName, Deployment, Flow, Owner, RoleName};
use testkit::{Emulator, Profiles};

const A: &str = "111111111111";
const OWNERS: [&str; 3] = ["222222222222", "333333333333", "444444444444"];
const CROSS: &str = "databricks-cross-account";
const DELAY: Duration = Duration::from_millis(50);

fn flow(buckets: usize) -> Flow {
    let owners = (0..OWNERS.len().min(buckets))
        .map(|o| Owner {
            account_id: AccountId::new(OWNERS[o]).unwrap(),
            role: RoleName::new("MyRoleB").unwrap(),
            buckets: (0..buckets)
                .filter(|i| i % OWNERS.len() == o)
                .map(|i| Bucket {
                    name: BucketName::new(&format!("bench-bucket-{i:03}")).unwrap(),
                    access: Access::ReadWrite,
                    kms_key_arn: None,
                    mount: false,
                })
                .collect(),
        })
        .collect();
    Flow::new(
        "us-east-1",
        Deployment {
            account_id: AccountId::new(A).unwrap(),
            instance_role: RoleName::new("MyRoleA").unwrap(),
            cross_account_role: Some(RoleName::new(CROSS).unwrap()),
        },
        owners,
    )
    .unwrap()
}

/// Resets moto and sets up what a user's accounts already hold: the
/// cross-account role in A and every bucket in its owner's account.
async fn fresh_world(emulator: &Emulator, flow: &Flow) -> (Profiles, Accounts) {
    emulator.reset().unwrap();
    let mut ids = vec![A];
    ids.extend(flow.owners().iter().map(|o| o.account_id.as_str()));
    let profiles = emulator.bootstrap(&ids).await.unwrap();
    let iam = aws_sdk_iam::Client::new(&profiles.sdk_config(A).await);
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::414351767826:root"},"Action":"sts:AssumeRole"}]}"#;
    iam.create_role().role_name(CROSS).assume_role_policy_document(trust).send().await.unwrap();
    let mut creates = Vec::new();
    for owner in flow.owners() {
        let config = profiles.sdk_config(owner.account_id.as_str()).await;
        let s3 =
            aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build());
        for bucket in &owner.buckets {
            let s3 = s3.clone();
            let name = bucket.name.as_str().to_owned();
            creates.push(async move { s3.create_bucket().bucket(name).send().await.unwrap() });
        }
    }
    futures::future::join_all(creates).await;
    let mut configs = BTreeMap::new();
    for id in ids {
        configs.insert(AccountId::new(id).unwrap(), profiles.sdk_config(id).await);
    }
    (profiles, Accounts::from_sdk_configs(configs))
}

/// Observes and plans (untimed), then times the apply.
async fn timed_apply(accounts: &Accounts, flow: &Flow, concurrency: usize) -> Duration {
    let observed = aws_apply::observe(accounts, flow).await.unwrap();
    let plan = aws_apply::plan(flow, &observed).unwrap();
    let options = ApplyOptions { concurrency, on_progress: None };
    let start = Instant::now();
    aws_apply::apply(accounts, &plan, &options).await.unwrap();
    start.elapsed()
}

fn median(samples: &[Duration]) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let emulator = Emulator::start().unwrap();
    let mut summary = Vec::new();

    // Calls of a fresh one-bucket apply, and of a converged re-run.
    let one = flow(1);
    rt.block_on(async {
        let (_profiles, accounts) = fresh_world(&emulator, &one).await;
        timed_apply(&accounts, &one, 8).await;
        let fresh = accounts.api_calls();
        timed_apply(&accounts, &one, 8).await;
        let rerun = accounts.api_calls().since(&fresh);
        summary.push(format!(
            "fresh one-bucket apply: {} calls ({} reads, {} writes); minimum 12 (5 reads, 7 writes)",
            fresh.reads() + fresh.writes(),
            fresh.reads(),
            fresh.writes()
        ));
        summary.push(format!("converged one-bucket re-run: {} reads, {} writes", rerun.reads(), rerun.writes()));
    });

    // 100 buckets across 3 owners: concurrent against sequential, bare and with a delay on every call.
    let hundred = flow(100);
    let medians: Arc<Mutex<BTreeMap<String, Duration>>> = Arc::default();
    let mut group = c.benchmark_group("apply_100_buckets_3_owners");
    // One apply per sample: a short measurement time makes criterion take the 10 samples one iteration each.
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_millis(100));
    for (label, delay) in [("bare", None), ("delayed_50ms", Some(DELAY))] {
        for (mode, concurrency) in [("concurrent", ApplyOptions::default().concurrency), ("sequential", 1)] {
            let name = format!("{label}/{mode}");
            let samples: Arc<Mutex<Vec<Duration>>> = Arc::default();
            group.bench_function(&name, |b| {
                b.iter_custom(|iters| {
                    rt.block_on(async {
                        let mut total = Duration::ZERO;
                        for _ in 0..iters {
                            let (_profiles, mut accounts) = fresh_world(&emulator, &hundred).await;
                            if let Some(delay) = delay {
                                accounts = accounts.with_latency(delay);
                            }
                            let took = timed_apply(&accounts, &hundred, concurrency).await;
                            samples.lock().unwrap().push(took);
                            total += took;
                        }
                        total
                    })
                })
            });
            medians.lock().unwrap().insert(name, median(&samples.lock().unwrap()));
        }
    }
    group.finish();

    // The converged re-run of the 100-bucket flow, with the delay.
    rt.block_on(async {
        let (_profiles, accounts) = fresh_world(&emulator, &hundred).await;
        let accounts = accounts.with_latency(DELAY);
        timed_apply(&accounts, &hundred, 8).await;
        let before = accounts.api_calls();
        let start = Instant::now();
        timed_apply(&accounts, &hundred, 8).await;
        let took = start.elapsed();
        let rerun = accounts.api_calls().since(&before);
        let budget = 5 + hundred.owners().len() + 100;
        summary.push(format!(
            "converged 100-bucket re-run: {} reads (target <= {budget} = 5 + 3 owners + 100 buckets + 0 keys), {} writes, {:.2}s with the delay",
            rerun.reads(),
            rerun.writes(),
            took.as_secs_f64()
        ));
    });

    let medians = medians.lock().unwrap();
    for (name, m) in medians.iter() {
        summary.push(format!("median apply, 100 buckets, {name}: {:.3}s", m.as_secs_f64()));
    }
    for label in ["bare", "delayed_50ms"] {
        if let (Some(c), Some(s)) =
            (medians.get(&format!("{label}/concurrent")), medians.get(&format!("{label}/sequential")))
        {
            summary.push(format!(
                "{label}: concurrent / sequential = {:.3} (target for delayed: <= 0.3)",
                c.as_secs_f64() / s.as_secs_f64()
            ));
        }
    }
    println!("\naws-apply summary:");
    for line in summary {
        println!("  {line}");
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
