//! Evaluation speed.
//!
//! - `cross_account_get_object`: the case in `cross_account_case.json` (also timed on
//!   iam-simulate by `tests/oracle/bench.js`): a session of account A's role reads an object
//!   in account B's bucket, with a 10-statement identity policy and a 10-statement bucket
//!   policy. Target: ≤ 1 µs median.
//! - `flow_1000_buckets`: compile the documents of a 1,000-bucket flow and evaluate every link
//!   of the chain. Target: ≤ 50 ms.

#![expect(clippy::unwrap_used, reason = "a benchmark stops loudly on a bad fixture")]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use policy_model::build;
use policy_model::eval::{self, CompiledPolicy, Context, Outcome, PolicySet, Request, Value};
use policy_model::{
    Access, AccountId, Bucket, BucketName, Deployment, Flow, KmsKeyArn, Owner, PolicyDocument, RoleName,
};

const CASE: &str = include_str!("cross_account_case.json");

struct Case {
    request: Request,
    identity: Vec<CompiledPolicy>,
    resource: CompiledPolicy,
}

fn load_case() -> Case {
    let case: serde_json::Value = serde_json::from_str(CASE).unwrap();
    let str_of = |field: &str| case[field].as_str().unwrap().to_owned();
    let mut context = Context::new();
    for (key, value) in case["context"].as_object().unwrap() {
        context.set(key, Value::Single(value.as_str().unwrap().to_owned()));
    }
    let request = Request::new(
        &str_of("principal"),
        &str_of("action"),
        &str_of("resource"),
        Some(&str_of("resource_account")),
        context,
    )
    .unwrap();
    let compile = |doc: &serde_json::Value, label: &str| {
        CompiledPolicy::compile(&serde_json::from_value::<PolicyDocument>(doc.clone()).unwrap()).unwrap().labeled(label)
    };
    let identity = vec![compile(&case["identity_policies"][0], "MyRoleA inline policy")];
    let resource = compile(&case["resource_policy"], "bucket policy my-bucket");
    Case { request, identity, resource }
}

fn cross_account(c: &mut Criterion) {
    let case = load_case();
    let set =
        PolicySet { identity: case.identity.iter().collect(), resource: Some(&case.resource), ..PolicySet::default() };
    assert_eq!(eval::decide(&case.request, &set), Outcome::Allowed);
    c.bench_function("cross_account_get_object/decide", |b| {
        b.iter(|| eval::decide(black_box(&case.request), black_box(&set)))
    });
    c.bench_function("cross_account_get_object/evaluate", |b| {
        b.iter(|| eval::evaluate(black_box(&case.request), black_box(&set)))
    });
    c.bench_function("cross_account_get_object/prepare_request_and_decide", |b| {
        b.iter(|| {
            let request = Request::new(
                black_box(case.request.principal()),
                "s3:GetObject",
                case.request.resource(),
                Some(case.request.resource_account()),
                case.request.context().clone(),
            )
            .unwrap();
            eval::decide(&request, &set)
        })
    });
}

/// Account A's instance role, 10 bucket owners with 100 buckets each, every tenth with a KMS key.
fn flow_1000() -> Flow {
    let owners = (0..10)
        .map(|o| {
            let account = AccountId::new(&format!("2000000000{o:02}")).unwrap();
            let buckets = (0..100)
                .map(|b| Bucket {
                    name: BucketName::new(&format!("data-{o}-{b}")).unwrap(),
                    access: if b % 3 == 0 { Access::ReadOnly } else { Access::ReadWrite },
                    kms_key_arn: (b % 10 == 0)
                        .then(|| KmsKeyArn::new(&format!("arn:aws:kms:us-east-1:{account}:key/k-{b}")).unwrap()),
                    mount: false,
                })
                .collect();
            Owner { account_id: account, role: RoleName::new("MyRoleB").unwrap(), buckets }
        })
        .collect();
    Flow::new(
        "us-east-1",
        Deployment {
            account_id: AccountId::new("111111111111").unwrap(),
            instance_role: RoleName::new("MyRoleA").unwrap(),
            cross_account_role: Some(RoleName::new("databricks-cross-account").unwrap()),
        },
        owners,
    )
    .unwrap()
}

/// Compiles every document of the flow and evaluates every link: A's role assumes each
/// owner's role, and each owner's role lists, reads and (for read-write) writes each bucket
/// and uses its key. Returns the number of allowed links.
fn check_flow(flow: &Flow) -> usize {
    let compile = |doc: &PolicyDocument, label: String| CompiledPolicy::compile(doc).unwrap().labeled(label);
    let assume = compile(&build::assume_role_policy(flow), "MyRoleA assume policy".to_owned());
    let trust = compile(&build::owner_trust_policy(flow), "owner trust policy".to_owned());
    let session_a = format!(
        "arn:aws:sts::{}:assumed-role/{}/databricks",
        flow.deployment().unwrap().account_id,
        flow.deployment().unwrap().instance_role
    );
    let mut allowed = 0;
    let mut decide = |request: Request, set: &PolicySet<'_>| {
        if eval::decide(&request, set) == Outcome::Allowed {
            allowed += 1;
        }
    };
    for owner in flow.owners() {
        let set = PolicySet { identity: vec![&assume], resource: Some(&trust), ..PolicySet::default() };
        decide(Request::new(&session_a, "sts:AssumeRole", &owner.role_arn(), None, Context::new()).unwrap(), &set);
        let session_b = format!("arn:aws:sts::{}:assumed-role/{}/databricks", owner.account_id, owner.role);
        for bucket in &owner.buckets {
            let bucket_policy = compile(
                &PolicyDocument::new(build::bucket_statements(owner, bucket)),
                format!("bucket policy {}", bucket.name),
            );
            let set = PolicySet { resource: Some(&bucket_policy), ..PolicySet::default() };
            let account = owner.account_id.as_str();
            let object = format!("{}/part-0000", bucket.name.arn());
            let mut actions = vec![("s3:ListBucket", bucket.name.arn()), ("s3:GetObject", object.clone())];
            if bucket.access == Access::ReadWrite {
                actions.extend([("s3:PutObject", object.clone()), ("s3:PutObjectAcl", object.clone())]);
            }
            for (action, resource) in actions {
                decide(Request::new(&session_b, action, &resource, Some(account), Context::new()).unwrap(), &set);
            }
            if let Some(key) = bucket.kms_key_arn.as_ref().map(|k| k.as_str()) {
                let key_policy = compile(
                    &PolicyDocument::new(vec![build::kms_key_user_statement(owner, key, bucket.access)]),
                    format!("key policy {key}"),
                );
                let set = PolicySet { resource: Some(&key_policy), ..PolicySet::default() };
                decide(Request::new(&session_b, "kms:Decrypt", key, None, Context::new()).unwrap(), &set);
            }
        }
    }
    allowed
}

fn flow(c: &mut Criterion) {
    let flow = flow_1000();
    let links = check_flow(&flow);
    assert!(links > 3_000, "only {links} links allowed");
    let mut group = c.benchmark_group("flow_1000_buckets");
    group.sample_size(20);
    group.bench_function("compile_and_evaluate", |b| b.iter(|| check_flow(black_box(&flow))));
    group.finish();
}

criterion_group!(benches, cross_account, flow);
criterion_main!(benches);
