//! Any bytes: the evaluator never panics. As a `simulate` batch they go
//! through case parsing, compilation and evaluation; as a policy document they
//! are compiled and asked fixed same-account, cross-account and AssumeRole
//! questions in every role a policy can play.

#![no_main]

use libfuzzer_sys::fuzz_target;
use policy_model::document::PolicyDocument;
use policy_model::eval::{decide, evaluate, CompiledPolicy, Context, PolicySet, Request};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = policy_model::simulate::simulate_json(text);

    let Ok(doc) = PolicyDocument::from_json(text) else { return };
    let Ok(policy) = CompiledPolicy::compile(&doc) else { return };
    let requests = [
        ("arn:aws:iam::111111111111:role/MyRoleA", "s3:GetObject", "arn:aws:s3:::my-bucket/k", Some("222222222222")),
        ("arn:aws:sts::111111111111:assumed-role/MyRoleA/i-1", "sts:AssumeRole", "arn:aws:iam::222222222222:role/MyRoleB", None),
        ("arn:aws:iam::222222222222:user/alice", "kms:Decrypt", "arn:aws:kms:us-east-1:222222222222:key/k", None),
    ];
    for (principal, action, resource, account) in requests {
        let context = Context::new().with("aws:SourceIp", "10.0.0.1").with("s3:x-amz-acl", "bucket-owner-full-control");
        let Ok(request) = Request::new(principal, action, resource, account, context) else { continue };
        let sets = [
            PolicySet { identity: vec![&policy], ..Default::default() },
            PolicySet { resource: Some(&policy), ..Default::default() },
            PolicySet { identity: vec![&policy], resource: Some(&policy), boundaries: vec![&policy], ..Default::default() },
            PolicySet { identity: vec![&policy], scps: vec![vec![&policy]], rcps: vec![vec![&policy]], ..Default::default() },
        ];
        for set in &sets {
            assert_eq!(decide(&request, set), evaluate(&request, set).decision);
        }
    }
});
