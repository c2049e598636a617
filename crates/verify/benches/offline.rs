//! How long the offline check takes: the corpus flow, and a flow with many owners and buckets.

#![expect(clippy::unwrap_used, reason = "a bench on fixed, valid names")]

use criterion::{criterion_group, criterion_main, Criterion};
use policy_model::{Access, AccountId, Bucket, BucketName, Owner, RoleName};
use verify::{corpus, offline, Databricks, OfflineInputs};

fn wide_flow(owners: usize, buckets: usize) -> policy_model::Flow {
    let mut flow = corpus::flow("arn:aws:kms:us-east-1:222222222222:key/k");
    flow.owners = (0..owners)
        .map(|o| Owner {
            account_id: AccountId::new(&format!("2000000000{o:02}")).unwrap(),
            role: RoleName::new(&format!("Reader{o}")).unwrap(),
            buckets: (0..buckets)
                .map(|b| Bucket {
                    name: BucketName::new(&format!("data-{o}-{b}")).unwrap(),
                    access: if b % 2 == 0 { Access::ReadWrite } else { Access::ReadOnly },
                    kms_key_arn: Some(format!("arn:aws:kms:us-east-1:2000000000{o:02}:key/k{b}")),
                    mount: false,
                })
                .collect(),
        })
        .collect();
    flow
}

fn bench(c: &mut Criterion) {
    for (name, flow) in [
        ("corpus flow", corpus::flow("arn:aws:kms:us-east-1:222222222222:key/k")),
        ("10 owners x 10 buckets", wide_flow(10, 10)),
    ] {
        let inputs = OfflineInputs {
            databricks: Some(Databricks::expected(&flow, Some("0101-bench"))),
            ..OfflineInputs::default()
        };
        assert!(offline(&flow, &inputs).ok);
        c.bench_function(&format!("offline, {name}"), |b| b.iter(|| offline(&flow, &inputs)));
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
