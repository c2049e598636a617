//! `simulate` per case: 2,000 distinct cross-account S3 cases, each carrying its own two
//! 10-statement policies (`support/cases.rs`), decided from the input text to the JSON
//! output. Criterion reports the time per batch and the cases per second; `cargo xtask
//! bench` also times the same cases as whole processes against iam-simulate.

#![expect(clippy::unwrap_used, reason = "a benchmark stops loudly on a bad fixture")]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use policy_model::simulate::{run, Format};

#[path = "support/cases.rs"]
mod cases;

const CASES: usize = 2_000;

fn simulate(c: &mut Criterion) {
    let input = cases::cases(CASES);
    let mut out = Vec::with_capacity(CASES * 400);
    let summary = run(&input, Format::Json, &mut out).unwrap();
    assert_eq!((summary.cases, summary.errors, summary.compiled), (CASES, 0, 2 * CASES));
    let results: Vec<serde_json::Value> = serde_json::from_slice(&out).unwrap();
    let allowed = results.iter().filter(|r| r["decision"] == "allowed").count();
    assert!((CASES / 4..CASES).contains(&allowed), "{allowed} of {CASES} allowed");

    let mut group = c.benchmark_group("simulate");
    group.throughput(Throughput::Elements(CASES as u64));
    group.sample_size(20);
    group.bench_function("2000_distinct_cross_account_cases", |b| {
        b.iter(|| {
            out.clear();
            run(black_box(&input), Format::Json, &mut out).unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, simulate);
criterion_main!(benches);
