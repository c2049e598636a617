//! How long the exposure findings take: the corpus flow with every exposure case planted, and
//! flows with many owners (one bucket each) holding only xacct's statements.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use verify::exposure::{corpus as cases, exposure, ResourceKind};
use verify::{corpus, default_key_policy, OfflineInputs, State};

fn bench(c: &mut Criterion) {
    let key = "arn:aws:kms:us-east-1:222222222222:key/k";
    let flow = corpus::flow(key);
    let planted = cases::cases(&flow);
    let mut inputs = OfflineInputs::default();
    inputs.bucket_policies.insert(corpus::BUCKET.to_owned(), cases::planted(&planted, ResourceKind::Bucket, None));
    let base = default_key_policy(corpus::B);
    inputs.key_policies.insert(key.to_owned(), cases::planted(&planted, ResourceKind::Kms, Some(&base)));
    let state = State::offline(&flow, &inputs);
    assert!(!exposure(&flow, &state, &[]).findings.is_empty());
    c.bench_function("exposure, corpus flow with every case planted", |b| b.iter(|| exposure(&flow, &state, &[])));

    let mut group = c.benchmark_group("exposure");
    group.sample_size(10);
    for n in [100, 1_000] {
        let flow = corpus::wide_flow(n, 1);
        let state = State::offline(&flow, &OfflineInputs::default());
        assert!(exposure(&flow, &state, &[]).ok);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("owners", n), &flow, |b, flow| b.iter(|| exposure(flow, &state, &[])));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
