//! How long each render target takes for flows with many owners (one bucket each) and many
//! buckets under one owner, to show the cost grows in proportion.

#![expect(clippy::unwrap_used, reason = "a bench on fixed, valid names")]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use policy_model::{Access, AccountId, Bucket, BucketName, Deployment, Flow, KmsKeyArn, NameError, Owner, RoleName};
use spark_conf::{render, RenderOptions, What};

fn flow(owners: usize, buckets: usize) -> Flow {
    parts(owners, buckets).map(|(d, o)| Flow::new("us-east-1", d, o).unwrap()).unwrap()
}

fn parts(owners: usize, buckets: usize) -> Result<(Deployment, Vec<Owner>), NameError> {
    let deployment = Deployment {
        account_id: AccountId::new("111111111111")?,
        instance_role: RoleName::new("MyRoleA")?,
        cross_account_role: Some(RoleName::new("databricks-cross-account")?),
    };
    let mut list = Vec::new();
    for o in 0..owners {
        let account = AccountId::new(&format!("{:012}", 200_000_000_000u64 + o as u64))?;
        let mut owned = Vec::new();
        for b in 0..buckets {
            owned.push(Bucket {
                name: BucketName::new(&format!("data-{o}-{b}"))?,
                access: if b % 2 == 0 { Access::ReadWrite } else { Access::ReadOnly },
                kms_key_arn: Some(KmsKeyArn::new(&format!("arn:aws:kms:us-east-1:{account}:key/k{}", b % 4))?),
                mount: b % 2 == 0,
            });
        }
        list.push(Owner { account_id: account, role: RoleName::new("MyRoleB")?, buckets: owned });
    }
    Ok((deployment, list))
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("render");
    group.sample_size(10);
    let sizes = [(500, 1), (1_000, 1), (2_000, 1), (5_000, 1), (1, 5_000)];
    for (owners, buckets) in sizes {
        let flow = flow(owners, buckets);
        let opts = RenderOptions::default();
        group.throughput(Throughput::Elements((owners * buckets) as u64));
        for what in What::ALL {
            let id = BenchmarkId::new(what.name(), format!("{owners} owners x {buckets} buckets"));
            group.bench_with_input(id, &flow, |b, flow| b.iter(|| render(flow, what, &opts)));
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
