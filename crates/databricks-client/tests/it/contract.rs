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

/// The Unity Catalog bodies xacct sends, and the stand-in's answers, against the SDK's
/// `catalog` types: credentials, locations, validation and grants.
#[tokio::test]
async fn unity_catalog_bodies_match_the_python_sdk() {
    use databricks_client::{
        AwsIamRoleRequest, CreateExternalLocation, CreateStorageCredential, EncryptionDetails, PermissionsChange,
        UpdateExternalLocation, UpdateStorageCredential, ValidateStorageCredential,
    };
    let stand_in = DatabricksStandIn::start().await;
    let options = ClientOptions { clock: Arc::new(ManualClock::new()), ..ClientOptions::default() };
    let client = Client::with_options(Credentials::pat(&stand_in.uri(), stand_in.token()).unwrap(), options).unwrap();
    let role = "arn:aws:iam::333333333333:role/uc-lake-access";
    let created = client
        .create_storage_credential(&CreateStorageCredential {
            name: "lake_333".to_owned(),
            aws_iam_role: AwsIamRoleRequest { role_arn: role.to_owned() },
            comment: Some("managed by xacct".to_owned()),
            read_only: None,
            skip_validation: Some(true),
        })
        .await
        .unwrap();
    assert!(created.external_id().is_some_and(|id| !id.is_empty()), "{created:?}");
    client
        .update_storage_credential(
            "lake_333",
            &UpdateStorageCredential {
                aws_iam_role: Some(AwsIamRoleRequest { role_arn: role.to_owned() }),
                skip_validation: Some(true),
                ..UpdateStorageCredential::default()
            },
        )
        .await
        .unwrap();
    let validate = ValidateStorageCredential {
        storage_credential_name: Some("lake_333".to_owned()),
        url: Some("s3://curated-lake/tables/".to_owned()),
        read_only: Some(true),
        ..ValidateStorageCredential::default()
    };
    let validation = client.validate_storage_credential(&validate).await.unwrap();
    client
        .create_external_location(&CreateExternalLocation {
            name: "curated_lake".to_owned(),
            url: "s3://curated-lake/tables/".to_owned(),
            credential_name: "lake_333".to_owned(),
            comment: Some("managed by xacct".to_owned()),
            read_only: Some(true),
            skip_validation: None,
            encryption_details: Some(EncryptionDetails::kms("arn:aws:kms:us-east-1:333333333333:key/k")),
        })
        .await
        .unwrap();
    client
        .update_external_location(
            "curated_lake",
            &UpdateExternalLocation { read_only: Some(false), ..UpdateExternalLocation::default() },
        )
        .await
        .unwrap();
    let change = PermissionsChange {
        principal: "data-engineers".to_owned(),
        add: vec!["READ_FILES".to_owned()],
        remove: Vec::new(),
    };
    let grants = client.update_location_grants("curated_lake", &[change]).await.unwrap();
    assert_eq!(grants.len(), 1);

    let mut cases = Vec::new();
    let with_path = |name: &str, kind: &str, body: Value, params: Value| json!({ "name": name, "kind": kind, "body": body, "path_params": params });
    for (path, kind, params) in [
        ("/api/2.1/unity-catalog/storage-credentials", "create_storage_credential", json!({})),
        (
            "/api/2.1/unity-catalog/storage-credentials/lake_333",
            "update_storage_credential",
            json!({"name": "lake_333"}),
        ),
        ("/api/2.1/unity-catalog/validate-storage-credentials", "validate_storage_credential", json!({})),
        ("/api/2.1/unity-catalog/external-locations", "create_external_location", json!({})),
        (
            "/api/2.1/unity-catalog/external-locations/curated_lake",
            "update_external_location",
            json!({"name": "curated_lake"}),
        ),
        (
            "/api/2.1/unity-catalog/permissions/external_location/curated_lake",
            "update_permissions",
            json!({"securable_type": "external_location", "full_name": "curated_lake"}),
        ),
    ] {
        let sent: Vec<_> = stand_in.requests_to(path).into_iter().filter(|r| r.method != "GET").collect();
        assert!(!sent.is_empty(), "nothing sent to {path}");
        for (n, request) in sent.into_iter().enumerate() {
            cases.push(with_path(&format!("{kind}#{n}"), kind, request.body, params.clone()));
        }
    }
    cases.push(case("credential", "storage_credential", stand_in.storage_credentials()[0].clone()));
    cases.push(case("location", "external_location", stand_in.external_locations()[0].clone()));
    cases.push(case("validation", "validation", serde_json::to_value(&validation).unwrap()));
    let grants_reply = json!({"privilege_assignments": serde_json::to_value(&grants).unwrap()});
    cases.push(case("grants", "permissions", grants_reply));
    let (ok, stdout) = run_contract(&cases);
    assert!(ok, "{stdout}");
    assert_eq!(stdout.trim(), format!("checked {} bodies, 0 problems", cases.len()));
}
