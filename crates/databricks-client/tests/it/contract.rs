//! Contract check: the JSON xacct sends (and the stand-in answers) is what the official Databricks Python SDK
//! builds and parses. Runs `tests/contract.py` with the workspace venv.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use databricks_client::{AccessSpec, Client, ClientOptions, ClusterTarget, Credentials, Language, ManualClock};
use serde_json::{json, Value};
use testkit::databricks::DatabricksStandIn;

fn python() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python")
}

/// Runs the script on `cases`; returns (success, stdout).
fn run_contract(cases: &[Value]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cases.json");
    std::fs::write(&file, serde_json::to_vec_pretty(cases).unwrap()).unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/contract.py");
    let output = Command::new(python()).arg(&script).arg(&file).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.is_empty() || output.status.success(), "contract.py failed to run: {stderr}");
    (output.status.success(), stdout)
}

fn case(name: &str, kind: &str, body: Value) -> Value {
    json!({ "name": name, "kind": kind, "body": body })
}

#[tokio::test]
async fn bodies_match_the_python_sdk() {
    let stand_in = DatabricksStandIn::start().await;
    let options = ClientOptions { clock: Arc::new(ManualClock::new()), ..ClientOptions::default() };
    let client = Client::with_options(Credentials::pat(&stand_in.uri(), stand_in.token()).unwrap(), options).unwrap();
    let profile = "arn:aws:iam::111111111111:instance-profile/MyRoleA";
    let renamed = "arn:aws:iam::111111111111:instance-profile/other-name";
    let role = "arn:aws:iam::111111111111:role/MyRoleA";
    let conf: BTreeMap<String, String> = [
        ("spark.hadoop.fs.s3a.credentialsType", "AssumeRole"),
        ("spark.hadoop.fs.s3a.stsAssumeRole.arn", "arn:aws:iam::222222222222:role/MyRoleB"),
        ("spark.hadoop.fs.s3a.acl.default", "BucketOwnerFullControl"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();

    client.ensure_instance_profile(profile, role).await.unwrap();
    client.ensure_instance_profile(renamed, role).await.unwrap();
    stand_in.register_instance_profile("arn:aws:iam::111111111111:instance-profile/edited");
    client.ensure_instance_profile("arn:aws:iam::111111111111:instance-profile/edited", role).await.unwrap();

    let new_spec = json!({"cluster_name": "xacct", "spark_version": "15.4.x-scala2.12", "node_type_id": "i3.xlarge", "num_workers": 1});
    let created = client
        .ensure_cluster_access(
            &ClusterTarget::New(new_spec.as_object().unwrap().clone()),
            &AccessSpec::new(profile, conf.clone()),
        )
        .await
        .unwrap();
    let existing = stand_in.insert_cluster(
        json!({
            "cluster_name": "analytics",
            "spark_version": "15.4.x-scala2.12",
            "node_type_id": "i3.xlarge",
            "driver_node_type_id": "i3.2xlarge",
            "autoscale": {"min_workers": 1, "max_workers": 4},
            "autotermination_minutes": 60,
            "spark_conf": {"spark.sql.shuffle.partitions": "64"},
            "aws_attributes": {"zone_id": "us-east-1a", "first_on_demand": 1, "availability": "SPOT_WITH_FALLBACK", "ebs_volume_count": 1, "ebs_volume_size": 100, "ebs_volume_type": "GENERAL_PURPOSE_SSD"},
            "custom_tags": {"team": "data"},
            "spark_env_vars": {"PYSPARK_PYTHON": "/databricks/python3/bin/python3"},
            "init_scripts": [{"workspace": {"destination": "/Users/a/init.sh"}}],
            "cluster_log_conf": {"s3": {"destination": "s3://logs/cluster", "region": "us-east-1"}},
            "data_security_mode": "SINGLE_USER",
            "single_user_name": "a@example.com",
            "runtime_engine": "PHOTON",
            "enable_elastic_disk": true,
            "ssh_public_keys": ["ssh-ed25519 AAAA"]
        }),
        "RUNNING",
    );
    client
        .ensure_cluster_access(&ClusterTarget::Existing(existing.clone()), &AccessSpec::new(profile, conf.clone()))
        .await
        .unwrap();
    client.ensure_running(&created.cluster_id).await.unwrap();
    client.run_command(&created.cluster_id, Language::Python, "dbutils.fs.ls('s3a://b/')").await.unwrap();

    let mut cases = Vec::new();
    for (path, kind) in [
        ("/api/2.0/instance-profiles/add", "add_instance_profile"),
        ("/api/2.0/instance-profiles/edit", "edit_instance_profile"),
        ("/api/2.1/clusters/create", "create_cluster"),
        ("/api/2.1/clusters/edit", "edit_cluster"),
    ] {
        let sent = stand_in.requests_to(path);
        assert!(!sent.is_empty(), "nothing sent to {path}");
        for (n, request) in sent.into_iter().enumerate() {
            cases.push(case(&format!("{kind}#{n}"), kind, request.body));
        }
    }
    // The stand-in's answers must parse as the SDK's response types too.
    cases.push(case("get existing", "cluster_details", stand_in.cluster(&existing).unwrap()));
    cases.push(case("get created", "cluster_details", stand_in.cluster(&created.cluster_id).unwrap()));
    cases.push(case(
        "list profiles",
        "instance_profiles_list",
        json!({"instance_profiles": stand_in.instance_profiles()}),
    ));
    let (ok, stdout) = run_contract(&cases);
    assert!(ok, "{stdout}");
    assert_eq!(stdout.trim(), format!("checked {} bodies, 0 problems", cases.len()));
}

/// The check can fail: bodies the SDK would not send are reported, each by name (one run, as the SDK import is slow).
#[test]
fn contract_rejects_what_the_sdk_would_not_send() {
    let spec = || json!({"cluster_id": "c", "spark_version": "15.4.x-scala2.12", "num_workers": 1});
    let mut with_state = spec();
    with_state["state"] = json!("RUNNING");
    let mut no_version = spec();
    no_version.as_object_mut().unwrap().remove("spark_version");
    let mut workers_text = spec();
    workers_text["num_workers"] = json!("1");
    let mut bad_aws = spec();
    bad_aws["aws_attributes"] = json!({"instance_profile": "x"});
    let bad = [
        ("state", "edit_cluster", with_state, "`state` is not a parameter of ClustersAPI.edit"),
        ("version", "edit_cluster", no_version, "required `spark_version` is missing"),
        ("workers", "edit_cluster", workers_text, "expected an int"),
        ("aws", "edit_cluster", bad_aws, "AwsAttributes round trip differs"),
        (
            "skip",
            "add_instance_profile",
            json!({"instance_profile_arn": "a", "skip_validation": "yes"}),
            "expected a bool",
        ),
        ("clone", "create_cluster", json!({"spark_version": "v", "clone_from": 1}), "expected an object"),
        (
            "details",
            "cluster_details",
            json!({"cluster_id": "c", "state": "RUNNING", "made_up": 1}),
            "ClusterDetails round trip differs",
        ),
    ];
    let cases: Vec<Value> = bad.iter().map(|(name, kind, body, _)| case(name, kind, body.clone())).collect();
    let (ok, stdout) = run_contract(&cases);
    assert!(!ok, "{stdout}");
    for (name, _, _, expect) in bad {
        assert!(
            stdout.lines().any(|line| line.starts_with(&format!("{name}:")) && line.contains(expect)),
            "{name}: {stdout}"
        );
    }
}
