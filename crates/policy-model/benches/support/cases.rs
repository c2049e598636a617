//! The one generator of `simulate` speed cases: the criterion bench `simulate` runs them
//! in-process, and `cargo xtask bench` writes them to a file (example `bench_cases`) that
//! both `xtask simulate` and iam-simulate (`tests/oracle/time.js`) decide as whole processes.
//!
//! Each case is a cross-account S3 request (a session of account A's role on an object or
//! the bucket of account B) carrying its own two 10-statement policies: the role's identity
//! policy and the bucket policy of `cross_account_case.json`, with the bucket, the role and
//! the key renamed per case so that no two cases share a policy.

const TEMPLATE: &str = include_str!("../cross_account_case.json");

/// `n` distinct cases as a compact JSON array.
pub fn cases(n: usize) -> String {
    // Compact once; the template's key order is kept (serde_json `preserve_order`).
    let template: serde_json::Value = serde_json::from_str(TEMPLATE).unwrap_or_default();
    let template = template.to_string();
    let mut out = String::with_capacity(n * (template.len() + 64) + 2);
    out.push('[');
    for i in 0..n {
        if i > 0 {
            out.push(',');
        }
        let (action, resource) = match i % 4 {
            0 => ("s3:GetObject", format!("arn:aws:s3:::bucket-{i:06}/data/part-{i}.parquet")),
            1 => ("s3:PutObject", format!("arn:aws:s3:::bucket-{i:06}/data/part-{i}.parquet")),
            2 => ("s3:GetObject", format!("arn:aws:s3:::bucket-{i:06}/private/k{i}")),
            _ => ("s3:ListBucket", format!("arn:aws:s3:::bucket-{i:06}")),
        };
        let case = template
            .replace(
                "\"s3:GetObject\",\"resource\":\"arn:aws:s3:::my-bucket/data/part-0000.parquet\"",
                &format!("\"{action}\",\"resource\":\"{resource}\""),
            )
            .replace("my-bucket", &format!("bucket-{i:06}"))
            .replace("MyRoleA", &format!("Role{i:06}"));
        out.push_str(&case);
    }
    out.push(']');
    out
}
