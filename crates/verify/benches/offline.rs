//! How long the offline check takes: the corpus flow, and flows with many owners (one bucket
//! each) and many buckets (under one owner), to show the cost grows in proportion.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use verify::{corpus, offline, Databricks, OfflineInputs};

fn bench(c: &mut Criterion) {
    let flow = corpus::flow("arn:aws:kms:us-east-1:222222222222:key/k");
    let inputs = inputs_for(&flow);
    assert!(offline(&flow, &inputs).ok);
    c.bench_function("offline, corpus flow", |b| b.iter(|| offline(&flow, &inputs)));

    let mut group = c.benchmark_group("offline");
    group.sample_size(10);
    for n in [500, 1_000, 2_000, 5_000] {
        let flow = corpus::wide_flow(n, 1);
        let inputs = inputs_for(&flow);
        assert_eq!(offline(&flow, &inputs).links.len(), 2 * n + n * 2 + 4);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("owners", n), &flow, |b, flow| b.iter(|| offline(flow, &inputs)));
    }
    for n in [500, 5_000] {
        let flow = corpus::wide_flow(1, n);
        let inputs = inputs_for(&flow);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("buckets under one owner", n), &flow, |b, flow| {
            b.iter(|| offline(flow, &inputs))
        });
    }
    group.finish();
}

fn inputs_for(flow: &policy_model::Flow) -> OfflineInputs {
    OfflineInputs { databricks: Some(Databricks::expected(flow, Some("0101-bench"))), ..OfflineInputs::default() }
}

criterion_group!(benches, bench);
criterion_main!(benches);
