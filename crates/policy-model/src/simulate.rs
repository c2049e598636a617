//! The `simulate` case format (DESIGN.md, "simulate case format"): JSON cases in, decisions out.
//!
//! One case gives one decision object; an array gives an array in the same order. A
//! malformed case gives `{"error": "..."}` naming the field, and the rest of the batch runs.

use serde_json::{json, Map, Value as Json};

use crate::document::PolicyDocument;
use crate::eval::{self, CompiledPolicy, Context, PolicySet, Request, SideResult, Value};

/// The input was not JSON at all; errors inside a case become error objects instead.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimulateError {
    #[error("input is not JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Decides the case or cases in `input` and returns the result as JSON text.
pub fn simulate_json(input: &str) -> Result<String, SimulateError> {
    let value: Json = serde_json::from_str(input)?;
    Ok(simulate_value(&value).to_string())
}

/// One case (an object) or a batch (an array), as JSON values.
pub fn simulate_value(input: &Json) -> Json {
    match input {
        Json::Array(cases) => Json::Array(cases.iter().map(simulate_case).collect()),
        case => simulate_case(case),
    }
}

/// One case: a decision object, or `{"error": "..."}`.
pub fn simulate_case(case: &Json) -> Json {
    match run_case(case) {
        Ok(result) => result,
        Err(message) => json!({ "error": message }),
    }
}

const FIELDS: [&str; 11] = [
    "principal",
    "action",
    "resource",
    "resource_account",
    "context",
    "identity_policies",
    "resource_policy",
    "permission_boundaries",
    "session_policy",
    "scps",
    "rcps",
];

fn run_case(case: &Json) -> Result<Json, String> {
    let Json::Object(case) = case else {
        return Err("a case must be a JSON object".to_owned());
    };
    if let Some(unknown) = case.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(format!("unknown field `{unknown}`; expected one of {}", FIELDS.join(", ")));
    }
    let principal = required_str(case, "principal")?;
    let action = required_str(case, "action")?;
    let resource = required_str(case, "resource")?;
    let resource_account = match case.get("resource_account") {
        None | Some(Json::Null) => None,
        Some(Json::String(s)) => Some(s.as_str()),
        Some(_) => return Err("`resource_account` must be a string".to_owned()),
    };
    let context = context(case.get("context"))?;

    let identity = policy_list(case.get("identity_policies"), "identity_policies")?;
    let resource_policy = optional_policy(case.get("resource_policy"), "resource_policy")?;
    let boundaries = policy_list(case.get("permission_boundaries"), "permission_boundaries")?;
    let session = optional_policy(case.get("session_policy"), "session_policy")?;
    let scps = policy_levels(case.get("scps"), "scps")?;
    let rcps = policy_levels(case.get("rcps"), "rcps")?;

    let request = Request::new(principal, action, resource, resource_account, context).map_err(|e| {
        let field = match e {
            eval::RequestError::Principal => "principal",
            eval::RequestError::Action(_) => "action",
            _ => "resource_account",
        };
        format!("`{field}`: {e}")
    })?;
    let set = PolicySet {
        identity: identity.iter().collect(),
        resource: resource_policy.as_ref(),
        boundaries: boundaries.iter().collect(),
        session: session.as_ref(),
        scps: scps.iter().map(|level| level.iter().collect()).collect(),
        rcps: rcps.iter().map(|level| level.iter().collect()).collect(),
    };
    let d = eval::evaluate(&request, &set);
    let mut out = Map::new();
    out.insert("decision".to_owned(), d.decision.as_str().into());
    out.insert("reason".to_owned(), d.reason.to_string().into());
    out.insert("identity".to_owned(), d.identity.as_str().into());
    out.insert("resource".to_owned(), d.resource.as_str().into());
    for (name, side) in [("boundary", d.boundary), ("session", d.session), ("scp", d.scp), ("rcp", d.rcp)] {
        if side != SideResult::NotApplicable {
            out.insert(name.to_owned(), side.as_str().into());
        }
    }
    let matched = d
        .matched
        .iter()
        .map(|s| {
            json!({
                "kind": s.kind.as_str(),
                "policy": s.policy,
                "statement": s.statement,
                "effect": s.effect.as_str(),
            })
        })
        .collect();
    out.insert("matched".to_owned(), Json::Array(matched));
    Ok(Json::Object(out))
}

fn required_str<'a>(case: &'a Map<String, Json>, field: &str) -> Result<&'a str, String> {
    match case.get(field) {
        Some(Json::String(s)) => Ok(s),
        None | Some(Json::Null) => Err(format!("`{field}` is missing")),
        Some(_) => Err(format!("`{field}` must be a string")),
    }
}

fn scalar(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Bool(b) => Some(b.to_string()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn context(value: Option<&Json>) -> Result<Context, String> {
    let mut ctx = Context::new();
    let map = match value {
        None | Some(Json::Null) => return Ok(ctx),
        Some(Json::Object(map)) => map,
        Some(_) => return Err("`context` must be an object of condition keys".to_owned()),
    };
    for (key, v) in map {
        let bad = || format!("`context.{key}` must be a string, number, boolean or an array of them");
        let value = match v {
            Json::Array(items) => Value::Multi(items.iter().map(scalar).collect::<Option<_>>().ok_or_else(bad)?),
            other => Value::Single(scalar(other).ok_or_else(bad)?),
        };
        ctx.set(key, value);
    }
    Ok(ctx)
}

fn compile(value: &Json, label: String) -> Result<CompiledPolicy, String> {
    let doc: PolicyDocument = serde_json::from_value(value.clone()).map_err(|e| format!("`{label}`: {e}"))?;
    CompiledPolicy::compile(&doc).map(|p| p.labeled(label.clone())).map_err(|e| format!("`{label}`: {e}"))
}

fn optional_policy(value: Option<&Json>, field: &str) -> Result<Option<CompiledPolicy>, String> {
    match value {
        None | Some(Json::Null) => Ok(None),
        Some(v) => compile(v, field.to_owned()).map(Some),
    }
}

fn policy_list(value: Option<&Json>, field: &str) -> Result<Vec<CompiledPolicy>, String> {
    match value {
        None | Some(Json::Null) => Ok(Vec::new()),
        Some(Json::Array(items)) => {
            items.iter().enumerate().map(|(i, v)| compile(v, format!("{field}[{i}]"))).collect()
        }
        Some(_) => Err(format!("`{field}` must be an array of policy documents")),
    }
}

fn policy_levels(value: Option<&Json>, field: &str) -> Result<Vec<Vec<CompiledPolicy>>, String> {
    match value {
        None | Some(Json::Null) => Ok(Vec::new()),
        Some(Json::Array(levels)) => levels
            .iter()
            .enumerate()
            .map(|(l, level)| match level {
                Json::Array(items) => {
                    items.iter().enumerate().map(|(i, v)| compile(v, format!("{field}[{l}][{i}]"))).collect()
                }
                _ => Err(format!("`{field}[{l}]` must be an array of policy documents (one level)")),
            })
            .collect(),
        Some(_) => Err(format!("`{field}` must be an array of levels, each an array of policy documents")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{expect, Expect};

    #[track_caller]
    fn check(input: &str, expect: Expect) {
        let out = match simulate_json(input) {
            Ok(text) => serde_json::to_string_pretty(&serde_json::from_str::<Json>(&text).unwrap()).unwrap(),
            Err(e) => format!("error: {e}"),
        };
        expect.assert_eq(&out);
    }

    const ALLOW_GET: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Get","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::my-bucket/*"}]}"#;

    #[test]
    fn cases() {
        check(
            &format!(
                r#"{{"principal":"arn:aws:iam::111111111111:role/MyRoleB","action":"s3:GetObject","resource":"arn:aws:s3:::my-bucket/k",
                "resource_account":"111111111111","identity_policies":[{ALLOW_GET}]}}"#
            ),
            expect![[r#"
                {
                  "decision": "allowed",
                  "reason": "allowed by an identity policy",
                  "identity": "allowed",
                  "resource": "notApplicable",
                  "matched": [
                    {
                      "kind": "identity",
                      "policy": "identity_policies[0]",
                      "statement": "Get",
                      "effect": "Allow"
                    }
                  ]
                }"#]],
        );
        check(
            &format!(
                r#"[{{"principal":"arn:aws:iam::111111111111:role/MyRoleB","action":"s3:GetObject","resource":"arn:aws:s3:::my-bucket/k",
                "resource_account":"222222222222","identity_policies":[{ALLOW_GET}],
                "resource_policy":{{"Statement":[{{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*","Condition":{{"Bool":{{"aws:SecureTransport":false}}}}}}]}},
                "context":{{"aws:SecureTransport":false}},"scps":[[{{"Statement":{{"Effect":"Allow","Action":"*","Resource":"*"}}}}]]}},
                {{"principal":"p","action":"s3"}},
                {{"principal":"arn:aws:iam::111111111111:role/R","action":"s3:GetObject","resource":"arn:aws:s3:::b/k"}},
                {{"principal":"arn:aws:iam::111111111111:role/R","action":"s3:GetObject","resource":"arn:aws:s3:::b/k","resource_account":"111111111111","identity_policies":[{{"Statement":[{{"Effect":"Maybe","Action":"*"}}]}}]}},
                {{"principal":"arn:aws:iam::111111111111:role/R","action":"s3:GetObject","resource":"x","resource_account":"1","scps":[{{}}]}},
                {{"principal":"arn:aws:iam::111111111111:role/R","action":"s3:GetObject","resource":"x","context":{{"a":{{}}}}}},
                {{"principal":"arn:aws:iam::111111111111:role/R","action":"s3:GetObject","resource":"x","contxt":{{}}}},
                [],
                {{"principal":"arn:aws:iam::111111111111:role/R","action":"sts:GetCallerIdentity","resource":"*"}}]"#
            ),
            expect![[r#"
                [
                  {
                    "decision": "explicitDeny",
                    "reason": "an explicit Deny statement applies",
                    "identity": "allowed",
                    "resource": "explicitDeny",
                    "scp": "allowed",
                    "matched": [
                      {
                        "kind": "resource",
                        "policy": "resource_policy",
                        "statement": "0",
                        "effect": "Deny"
                      }
                    ]
                  },
                  {
                    "error": "`resource` is missing"
                  },
                  {
                    "error": "`resource_account`: resource `arn:aws:s3:::b/k` carries no account: give the resource account"
                  },
                  {
                    "error": "`identity_policies[0]`: statement `0`: effect `Maybe` is neither `Allow` nor `Deny`"
                  },
                  {
                    "error": "`scps[0]` must be an array of policy documents (one level)"
                  },
                  {
                    "error": "`context.a` must be a string, number, boolean or an array of them"
                  },
                  {
                    "error": "unknown field `contxt`; expected one of principal, action, resource, resource_account, context, identity_policies, resource_policy, permission_boundaries, session_policy, scps, rcps"
                  },
                  {
                    "error": "a case must be a JSON object"
                  },
                  {
                    "decision": "allowed",
                    "reason": "sts:GetCallerIdentity needs no permission",
                    "identity": "implicitDeny",
                    "resource": "notApplicable",
                    "matched": []
                  }
                ]"#]],
        );
        check("{", expect!["error: input is not JSON: EOF while parsing an object at line 1 column 1"]);
        check(
            r#"{"principal":"arn:aws:iam::111111111111:role/R","action":"x","resource":"*"}"#,
            expect![[r#"
                {
                  "error": "`action`: action `x` is not of the form `service:name`"
                }"#]],
        );
        check(
            r#"{"principal":"a","action":"s3:GetObject","resource":"*","identity_policies":[{"Statement":[{"Effect":"Allow"}]}]}"#,
            expect![[r#"
                {
                  "error": "`identity_policies[0]`: statement `0` has neither `Action` nor `NotAction`"
                }"#]],
        );
    }
}
