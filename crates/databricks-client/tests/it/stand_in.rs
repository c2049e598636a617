//! The client's `ensure_*` flows and command execution against testkit's stateful Databricks stand-in.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use databricks_client::{
    AccessSpec, AddInstanceProfile, AuthSettings, Client, ClientOptions, ClusterState, ClusterTarget, Credentials,
    Error, Language, ManualClock, Outcome,
};
use serde_json::{json, Value};
use testkit::databricks::DatabricksStandIn;

const PROFILE: &str = "arn:aws:iam::111111111111:instance-profile/MyRoleA";
const ROLE: &str = "arn:aws:iam::111111111111:role/MyRoleA";
const ROLE_B: &str = "arn:aws:iam::222222222222:role/MyRoleB";

fn conf() -> BTreeMap<String, String> {
    [
        ("spark.hadoop.fs.s3a.credentialsType", "AssumeRole"),
        ("spark.hadoop.fs.s3a.stsAssumeRole.arn", ROLE_B),
        ("spark.hadoop.fs.s3a.acl.default", "BucketOwnerFullControl"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

async fn setup() -> (DatabricksStandIn, Client, Arc<ManualClock>) {
    let stand_in = DatabricksStandIn::start().await;
    let clock = Arc::new(ManualClock::new());
    let options = ClientOptions { clock: clock.clone(), ..ClientOptions::default() };
    let client = Client::with_options(Credentials::pat(&stand_in.uri(), stand_in.token()).unwrap(), options).unwrap();
    (stand_in, client, clock)
}

fn paths(stand_in: &DatabricksStandIn) -> Vec<String> {
    stand_in.requests().into_iter().map(|r| format!("{} {}", r.method, r.path)).collect()
}

#[tokio::test]
async fn instance_profile_is_registered_once() {
    let (stand_in, client, clock) = setup().await;
    stand_in.fail_iam_lag(2);
    assert_eq!(client.ensure_instance_profile(PROFILE, ROLE).await.unwrap(), Outcome::Created);
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(2), Duration::from_secs(4)]);
    let writes = client.writes();
    assert_eq!(client.ensure_instance_profile(PROFILE, ROLE).await.unwrap(), Outcome::Unchanged);
    assert_eq!(client.writes(), writes);
    assert_eq!(
        stand_in.instance_profiles(),
        vec![json!({"instance_profile_arn": PROFILE, "is_meta_instance_profile": false})]
    );
    // Same names: no iam_role_arn sent.
    assert_eq!(
        stand_in.requests_to("/api/2.0/instance-profiles/add")[0].body,
        json!({"instance_profile_arn": PROFILE})
    );
}

#[tokio::test]
async fn instance_profile_with_a_different_role_name() {
    let (stand_in, client, _) = setup().await;
    let profile = "arn:aws:iam::111111111111:instance-profile/profile-a";
    stand_in.register_instance_profile(profile);
    let outcome = client.ensure_instance_profile(profile, ROLE).await.unwrap();
    assert_eq!(outcome, Outcome::Updated { changes: vec![format!("iam_role_arn: (none) -> {ROLE}")] });
    assert_eq!(
        stand_in.requests_to("/api/2.0/instance-profiles/edit")[0].body,
        json!({"instance_profile_arn": profile, "iam_role_arn": ROLE})
    );
    assert_eq!(client.ensure_instance_profile(profile, ROLE).await.unwrap(), Outcome::Unchanged);
    client.remove_instance_profile(profile).await.unwrap();
    assert!(client.list_instance_profiles().await.unwrap().is_empty());
}

#[tokio::test]
async fn instance_profile_failures() {
    let (stand_in, client, _) = setup().await;
    stand_in.fail_dry_run(1);
    let err = client.ensure_instance_profile(PROFILE, ROLE).await.unwrap_err();
    assert!(matches!(err, Error::PassRoleDenied { .. }), "{err:?}");
    assert!(err.to_string().contains("`iam:PassRole`"), "{err}");
    // Duplicate add, and a malformed ARN, as the real API answers them.
    let add = AddInstanceProfile { instance_profile_arn: PROFILE.into(), ..Default::default() };
    client.add_instance_profile(&add).await.unwrap();
    let err = client.add_instance_profile(&add).await.unwrap_err();
    assert_eq!(err.to_string(), format!("POST `/api/2.0/instance-profiles/add`: databricks returned 400 INVALID_PARAMETER_VALUE: Instance profile with arn {PROFILE} already exists."));
    let bad = AddInstanceProfile { instance_profile_arn: ROLE.into(), ..Default::default() };
    let err = client.add_instance_profile(&bad).await.unwrap_err();
    assert_eq!(err.api().unwrap().error_code.as_deref(), Some("INVALID_PARAMETER_VALUE"));
    let err = client.remove_instance_profile("arn:aws:iam::111111111111:instance-profile/none").await.unwrap_err();
    assert_eq!(err.api().unwrap().error_code.as_deref(), Some("RESOURCE_DOES_NOT_EXIST"));
}

fn existing_spec() -> Value {
    json!({
        "cluster_name": "analytics",
        "spark_version": "15.4.x-scala2.12",
        "node_type_id": "i3.xlarge",
        "autoscale": {"min_workers": 1, "max_workers": 4},
        "autotermination_minutes": 60,
        "spark_conf": {"spark.sql.shuffle.partitions": "64"},
        "aws_attributes": {"zone_id": "us-east-1a", "first_on_demand": 1},
        "custom_tags": {"team": "data"},
        "spark_env_vars": {"PYSPARK_PYTHON": "/databricks/python3/bin/python3"},
        "init_scripts": [{"workspace": {"destination": "/init.sh"}}],
        "a_field_this_client_does_not_know": {"kept": true}
    })
}

#[tokio::test]
async fn existing_cluster_keeps_its_other_settings() {
    let (stand_in, client, _) = setup().await;
    stand_in.register_instance_profile(PROFILE);
    let id = stand_in.insert_cluster(existing_spec(), "RUNNING");
    let target = ClusterTarget::Existing(id.clone());
    assert!(matches!(
        client.plan_cluster_access(&target, &AccessSpec::new(PROFILE, conf())).await.unwrap(),
        Outcome::Updated { .. }
    ));
    let access = client.ensure_cluster_access(&target, &AccessSpec::new(PROFILE, conf())).await.unwrap();
    assert_eq!(access.cluster_id, id);
    let Outcome::Updated { changes } = access.outcome else { panic!("{:?}", access.outcome) };
    assert_eq!(changes.len(), 4, "{changes:?}");
    let mut expected = existing_spec();
    expected["aws_attributes"]["instance_profile_arn"] = json!(PROFILE);
    for (k, v) in conf() {
        expected["spark_conf"][k] = json!(v);
    }
    expected["cluster_id"] = json!(id);
    assert_eq!(stand_in.requests_to("/api/2.1/clusters/edit")[0].body, expected);
    // A running cluster restarts after an edit, then runs with the new spec.
    assert_eq!(client.get_cluster(&id).await.unwrap().state, ClusterState::Restarting);
    client.wait_for_state(&id, ClusterState::Running, Duration::from_secs(60)).await.unwrap();
    let writes = client.writes();
    let again = client.ensure_cluster_access(&target, &AccessSpec::new(PROFILE, conf())).await.unwrap();
    assert_eq!(again.outcome, Outcome::Unchanged);
    assert_eq!(client.writes(), writes);
}

#[tokio::test]
async fn existing_cluster_in_a_transient_state_is_waited_for() {
    let (stand_in, client, clock) = setup().await;
    stand_in.register_instance_profile(PROFILE);
    let id = stand_in.insert_cluster(existing_spec(), "PENDING");
    stand_in.hold_cluster_state(&id, 3, "RUNNING");
    // Editing now is refused, as the real API does.
    let spec = client.get_cluster(&id).await.unwrap().editable_spec();
    let err = client.edit_cluster(&id, &spec).await.unwrap_err();
    assert_eq!(err.api().unwrap().error_code.as_deref(), Some("INVALID_STATE"));
    let access = client
        .ensure_cluster_access(&ClusterTarget::Existing(id.clone()), &AccessSpec::new(PROFILE, conf()))
        .await
        .unwrap();
    assert!(matches!(access.outcome, Outcome::Updated { .. }));
    // Three reads see PENDING (one here, two in ensure), then one poll interval, then RUNNING.
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(5)]);
    assert_eq!(stand_in.requests_to("/api/2.1/clusters/edit").len(), 2);
}

#[tokio::test]
async fn clusters_that_cannot_be_edited() {
    let (stand_in, client, _) = setup().await;
    stand_in.register_instance_profile(PROFILE);
    let id = stand_in.insert_cluster(existing_spec(), "ERROR");
    let err = client
        .ensure_cluster_access(&ClusterTarget::Existing(id.clone()), &AccessSpec::new(PROFILE, conf()))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cluster `{id}` is ERROR: clusters can be edited only while RUNNING or TERMINATED, and this one is ERROR"
        )
    );
    let err = client
        .ensure_cluster_access(&ClusterTarget::Existing("nope".into()), &AccessSpec::new(PROFILE, conf()))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "GET `/api/2.1/clusters/get`: databricks returned 404 RESOURCE_DOES_NOT_EXIST: Cluster nope does not exist"
    );
    // A cluster stuck in PENDING: the wait is bounded.
    let stuck = stand_in.insert_cluster(existing_spec(), "PENDING");
    stand_in.hold_cluster_state(&stuck, 10_000, "RUNNING");
    let err = client
        .ensure_cluster_access(&ClusterTarget::Existing(stuck.clone()), &AccessSpec::new(PROFILE, conf()))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    // An unregistered instance profile is refused by the API.
    let running = stand_in.insert_cluster(existing_spec(), "TERMINATED");
    let other = "arn:aws:iam::111111111111:instance-profile/Other";
    let err = client
        .ensure_cluster_access(&ClusterTarget::Existing(running), &AccessSpec::new(other, conf()))
        .await
        .unwrap_err();
    assert_eq!(err.api().unwrap().message, format!("Instance profile {other} has not been added to this workspace."));
}

fn new_cluster() -> serde_json::Map<String, Value> {
    json!({"cluster_name": "xacct", "spark_version": "15.4.x-scala2.12", "node_type_id": "i3.xlarge", "num_workers": 1})
        .as_object()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn new_cluster_is_created_once() {
    let (stand_in, client, _) = setup().await;
    stand_in.register_instance_profile(PROFILE);
    let target = ClusterTarget::New(new_cluster());
    assert_eq!(client.plan_cluster_access(&target, &AccessSpec::new(PROFILE, conf())).await.unwrap(), Outcome::Created);
    let access = client.ensure_cluster_access(&target, &AccessSpec::new(PROFILE, conf())).await.unwrap();
    assert_eq!(access.outcome, Outcome::Created);
    let created = stand_in.requests_to("/api/2.1/clusters/create")[0].body.clone();
    assert_eq!(created["custom_tags"], json!({"xacct:managed": "true"}));
    assert_eq!(created["aws_attributes"], json!({"instance_profile_arn": PROFILE}));
    let running = client.ensure_running(&access.cluster_id).await.unwrap();
    assert_eq!(running.state, ClusterState::Running);
    let again = client.ensure_cluster_access(&target, &AccessSpec::new(PROFILE, conf())).await.unwrap();
    assert_eq!(again, databricks_client::ClusterAccess { cluster_id: access.cluster_id, outcome: Outcome::Unchanged });
    assert_eq!(stand_in.requests_to("/api/2.1/clusters/create").len(), 1);
    // A spec without a name cannot be found again, so it is refused.
    let mut nameless = new_cluster();
    nameless.remove("cluster_name");
    let err = client
        .ensure_cluster_access(&ClusterTarget::New(nameless), &AccessSpec::new(PROFILE, conf()))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "invalid cluster spec: a new cluster needs a `cluster_name`");
}

#[tokio::test]
async fn stand_in_validates_cluster_bodies() {
    let (stand_in, client, _) = setup().await;
    let mut spec = new_cluster();
    spec.remove("num_workers");
    let err = client.create_cluster(&spec).await.unwrap_err();
    assert_eq!(err.api().unwrap().message, "Missing required field: num_workers or autoscale");
    let id = stand_in.insert_cluster(Value::Object(new_cluster()), "TERMINATED");
    let mut details = client.get_cluster(&id).await.unwrap().details;
    let err = client.edit_cluster(&id, &details).await.unwrap_err();
    assert!(err.api().unwrap().message.contains("is read-only"), "{err}");
    details.retain(|k, _| k == "cluster_name");
    let err = client.edit_cluster(&id, &details).await.unwrap_err();
    assert_eq!(err.api().unwrap().message, "Missing required field: spark_version");
    let err = client.start_cluster("nope").await.unwrap_err();
    assert_eq!(err.api().unwrap().error_code.as_deref(), Some("RESOURCE_DOES_NOT_EXIST"));
    // Pagination: 150 clusters over two pages.
    for _ in 0..149 {
        stand_in.insert_cluster(Value::Object(new_cluster()), "TERMINATED");
    }
    let reads = client.reads();
    assert_eq!(client.list_clusters().await.unwrap().len(), 150);
    assert_eq!(client.reads() - reads, 2);
}

#[tokio::test]
async fn wrong_token_is_refused() {
    let stand_in = DatabricksStandIn::start().await;
    let client = Client::new(Credentials::pat(&stand_in.uri(), "wrong").unwrap()).unwrap();
    let err = client.list_instance_profiles().await.unwrap_err();
    assert_eq!(err.api().unwrap().status, 401);
}

#[tokio::test]
async fn throttling_is_retried() {
    let (stand_in, client, clock) = setup().await;
    stand_in.throttle(Some("/api/2.0/instance-profiles/list"), 2, 429, Some("2"));
    stand_in.throttle(None, 1, 503, None);
    client.list_instance_profiles().await.unwrap();
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(2), Duration::from_secs(2), Duration::from_secs(1)]);
    assert_eq!(paths(&stand_in).len(), 4);
}

#[tokio::test]
async fn oauth_against_the_stand_in() {
    let stand_in = DatabricksStandIn::start().await;
    stand_in.enable_oauth("sp", "sp-secret", 3600);
    let settings = AuthSettings {
        host: Some(stand_in.uri()),
        client_id: Some("sp".into()),
        client_secret: Some("sp-secret".into()),
        ..AuthSettings::default()
    };
    let client = Client::from_settings(&settings, &|_| None, ClientOptions::default()).unwrap();
    client.list_instance_profiles().await.unwrap();
    client.list_instance_profiles().await.unwrap();
    assert_eq!(stand_in.issued_tokens().len(), 1);
    assert_eq!(stand_in.requests_to("/oidc/v1/token")[0].body, json!("grant_type=client_credentials&scope=all-apis"));
}

async fn running_cluster(stand_in: &DatabricksStandIn, client: &Client) -> String {
    stand_in.register_instance_profile(PROFILE);
    let access = client
        .ensure_cluster_access(&ClusterTarget::New(new_cluster()), &AccessSpec::new(PROFILE, conf()))
        .await
        .unwrap();
    client.ensure_running(&access.cluster_id).await.unwrap();
    access.cluster_id
}

#[tokio::test]
async fn mount_and_ls() {
    let (stand_in, client, _) = setup().await;
    stand_in.set_ls_handler(Arc::new(|bucket: &str| {
        if bucket == "my-bucket" {
            Ok(vec!["a.txt".to_owned(), "dir/".to_owned()])
        } else {
            Err(format!("java.io.FileNotFoundException: Bucket {bucket} does not exist"))
        }
    }));
    let id = running_cluster(&stand_in, &client).await;
    let ls = client.run_command(&id, Language::Python, "display(dbutils.fs.ls(\"s3a://my-bucket/\"))").await.unwrap();
    assert_eq!(ls.text(), Some("Out[1]: [FileInfo(path='s3a://my-bucket/a.txt', name='a.txt', size=0, modificationTime=0), FileInfo(path='s3a://my-bucket/dir/', name='dir/', size=0, modificationTime=0)]"));
    let missing = client.run_command(&id, Language::Python, "dbutils.fs.ls('s3a://other/')").await.unwrap();
    assert_eq!(missing.failure().as_deref(), Some("java.io.FileNotFoundException: Bucket other does not exist"));
    let unmounted = client.run_command(&id, Language::Python, "dbutils.fs.ls('/mnt/my-bucket')").await.unwrap();
    assert_eq!(
        unmounted.failure().as_deref(),
        Some("java.io.FileNotFoundException: File /mnt/my-bucket does not exist.")
    );
    let mount = format!(
        "dbutils.fs.mount(\"s3a://my-bucket\", \"/mnt/my-bucket\", extraConfigs = Map(\"fs.s3a.credentialsType\" -> \"AssumeRole\", \"fs.s3a.stsAssumeRole.arn\" -> \"{ROLE_B}\"))"
    );
    let mounted = client.run_command(&id, Language::Scala, &mount).await.unwrap();
    assert!(mounted.is_success(), "{mounted:?}");
    assert_eq!(stand_in.mounts()[0].extra_configs["fs.s3a.stsAssumeRole.arn"], ROLE_B);
    let ls = client.run_command(&id, Language::Scala, "dbutils.fs.ls(\"/mnt/my-bucket\")").await.unwrap();
    assert_eq!(ls.text(), Some("res0: Seq[com.databricks.backend.daemon.dbutils.FileInfo] = WrappedArray(FileInfo(/mnt/my-bucket/a.txt, a.txt, 0, 0), FileInfo(/mnt/my-bucket/dir/, dir/, 0, 0))"));
    let twice = client.run_command(&id, Language::Scala, &mount).await.unwrap();
    assert!(twice.failure().unwrap().contains("Directory already mounted: /mnt/my-bucket"));
    assert_eq!(stand_in.open_contexts(), 0);
    assert_eq!(stand_in.executed_commands().len(), 6);
}

#[tokio::test]
async fn ls_without_assume_role_conf_is_denied() {
    let (stand_in, client, _) = setup().await;
    stand_in.register_instance_profile(PROFILE);
    let id = stand_in.insert_cluster(
        json!({"cluster_name": "bare", "spark_version": "15.4.x-scala2.12", "node_type_id": "i3.xlarge", "num_workers": 1, "aws_attributes": {"instance_profile_arn": PROFILE}}),
        "RUNNING",
    );
    let result = client.run_command(&id, Language::Python, "dbutils.fs.ls('s3a://my-bucket/')").await.unwrap();
    assert!(
        result.failure().unwrap().starts_with("java.nio.file.AccessDeniedException: s3a://my-bucket/"),
        "{result:?}"
    );
    let terminated = stand_in.insert_cluster(Value::Object(new_cluster()), "TERMINATED");
    let err = client.run_command(&terminated, Language::Python, "1").await.unwrap_err();
    assert_eq!(err.api().unwrap().error_code.as_deref(), Some("INVALID_STATE"));
}

/// The shapes spark-conf renders: a mount-or-update program with the configs in a variable, and an ls that prints
/// one JSON line.
#[tokio::test]
async fn mount_or_update_program_and_json_ls() {
    let (stand_in, client, _) = setup().await;
    stand_in.set_ls_handler(Arc::new(|_: &str| Ok(vec!["a.txt".to_owned(), "b.txt".to_owned()])));
    let id = running_cluster(&stand_in, &client).await;
    let program = format!(
        "_xacct_configs = {{\n    \"fs.s3a.credentialsType\": \"AssumeRole\",\n    \"fs.s3a.stsAssumeRole.arn\": \"{ROLE_B}\",\n    \"fs.s3a.acl.default\": \"BucketOwnerFullControl\",\n}}\n\
         if any(m.mountPoint == \"/mnt/my-bucket\" for m in dbutils.fs.mounts()):\n    \
         dbutils.fs.updateMount(\"s3a://my-bucket\", \"/mnt/my-bucket\", extra_configs=_xacct_configs)\n    \
         print(\"updated \" + \"/mnt/my-bucket\")\n\
         else:\n    \
         dbutils.fs.mount(\"s3a://my-bucket\", \"/mnt/my-bucket\", extra_configs=_xacct_configs)\n    \
         print(\"mounted \" + \"/mnt/my-bucket\")\n"
    );
    let first = client.run_command(&id, Language::Python, &program).await.unwrap();
    assert_eq!(first.text(), Some("mounted /mnt/my-bucket"));
    let second = client.run_command(&id, Language::Python, &program).await.unwrap();
    assert_eq!(second.text(), Some("updated /mnt/my-bucket"));
    let mounts = stand_in.mounts();
    assert_eq!(mounts.len(), 1);
    assert_eq!(mounts[0].source, "s3a://my-bucket");
    assert_eq!(mounts[0].extra_configs.len(), 3);
    assert_eq!(mounts[0].extra_configs["fs.s3a.stsAssumeRole.arn"], ROLE_B);

    let ls = "import json as _xacct_json\n_xacct_files = dbutils.fs.ls(\"/mnt/my-bucket\")\nprint(_xacct_json.dumps({\"path\": \"/mnt/my-bucket\", \"entries\": len(_xacct_files), \"sample\": [f.name for f in _xacct_files[:5]]}))\n";
    let result = client.run_command(&id, Language::Python, ls).await.unwrap();
    assert_eq!(result.text(), Some(r#"{"path": "/mnt/my-bucket", "entries": 2, "sample": ["a.txt", "b.txt"]}"#));
    let probe = "_xacct_files = dbutils.fs.ls(\"s3a://my-bucket/\")\nprint(len(_xacct_files), [f.name for f in _xacct_files[:5]])\n";
    let result = client.run_command(&id, Language::Python, probe).await.unwrap();
    assert_eq!(result.text(), Some("2 ['a.txt', 'b.txt']"));
}

/// Unity Catalog against the stand-in: a credential gets an external ID, a location needs its
/// credential, a credential with a dependent location is not deleted without `force`, missing
/// things read as `None`, and validation is retried while it fails (IAM propagation) within the
/// bound, then returned as it is.
#[tokio::test]
async fn unity_catalog_credentials_locations_validation_and_grants() {
    use databricks_client::{
        missing_grants, AwsIamRoleRequest, CreateExternalLocation, CreateStorageCredential, PrivilegeAssignment,
        ValidateStorageCredential,
    };
    let (stand_in, client, _clock) = setup().await;
    assert_eq!(client.get_storage_credential("lake").await.unwrap(), None);
    let role = "arn:aws:iam::333333333333:role/uc";
    let create = |name: &str| CreateStorageCredential {
        name: name.to_owned(),
        aws_iam_role: AwsIamRoleRequest { role_arn: role.to_owned() },
        comment: Some("managed by xacct".to_owned()),
        read_only: None,
        skip_validation: Some(true),
    };
    let made = client.create_storage_credential(&create("lake")).await.unwrap();
    let id = made.external_id().unwrap().to_owned();
    let read = client.get_storage_credential("lake").await.unwrap().unwrap();
    assert_eq!((read.external_id(), read.role_arn()), (Some(id.as_str()), Some(role)));
    let again = client.create_storage_credential(&create("lake")).await.unwrap_err();
    assert!(matches!(&again, Error::Api { source, .. } if source.status == 409), "{again}");

    let location = CreateExternalLocation {
        name: "curated".to_owned(),
        url: "s3://curated-lake/tables/".to_owned(),
        credential_name: "nope".to_owned(),
        comment: None,
        read_only: Some(true),
        skip_validation: None,
        encryption_details: None,
    };
    assert!(client.create_external_location(&location).await.is_err(), "a location needs its credential");
    let location = CreateExternalLocation { credential_name: "lake".to_owned(), ..location };
    client.create_external_location(&location).await.unwrap();
    assert_eq!(client.list_external_locations().await.unwrap().len(), 1);
    assert_eq!(client.list_storage_credentials().await.unwrap().len(), 1);
    assert!(client.delete_storage_credential("lake", false).await.is_err(), "it has a dependent location");

    let validate = ValidateStorageCredential {
        storage_credential_name: Some("lake".to_owned()),
        url: Some(location.url.clone()),
        read_only: Some(true),
        ..ValidateStorageCredential::default()
    };
    stand_in.fail_next_validations(2);
    let (validation, attempts) = client.validate_until_pass(&validate).await.unwrap();
    assert_eq!(attempts, 3);
    assert!(validation.failures().is_empty(), "{validation:?}");
    let ops: Vec<(&str, &str)> = validation.results.iter().map(|r| (r.operation.as_str(), r.result.as_str())).collect();
    assert_eq!(
        ops,
        [("READ", "PASS"), ("WRITE", "SKIP"), ("LIST", "PASS"), ("DELETE", "SKIP"), ("PATH_EXISTS", "PASS")]
    );
    // A failure that outlasts the bound comes back as it is, after the bound's attempts.
    stand_in.fail_next_validations(100);
    let before = stand_in.validations();
    let (validation, attempts) = client.validate_until_pass(&validate).await.unwrap();
    assert_eq!((attempts as usize, stand_in.validations() - before), (8, 8));
    assert_eq!(validation.failures()[0].operation, "READ");
    // A validator decides from the credential's role and external ID, as AWS would.
    stand_in.fail_next_validations(0);
    let seen = id.clone();
    stand_in.set_uc_validator(Arc::new(move |role, external_id, url, read_only| {
        let verdict = if role.ends_with("role/uc") && external_id == seen && !read_only { "PASS" } else { "FAIL" };
        vec![("WRITE".to_owned(), verdict.to_owned(), format!("checked {url}"))]
    }));
    let write = ValidateStorageCredential { read_only: Some(false), ..validate.clone() };
    let answer = client.validate_storage_credential(&write).await.unwrap();
    assert_eq!(answer.results[0].result, "PASS", "{answer:?}");
    assert_eq!(answer.results[0].message.as_deref(), Some("checked s3://curated-lake/tables/"));
    assert_eq!(client.validate_storage_credential(&validate).await.unwrap().results[0].result, "FAIL");

    let wanted = [PrivilegeAssignment { principal: "eng".to_owned(), privileges: vec!["READ_FILES".to_owned()] }];
    let changes = missing_grants(&client.get_location_grants("curated").await.unwrap(), &wanted);
    assert_eq!(changes.len(), 1);
    client.update_location_grants("curated", &changes).await.unwrap();
    assert!(missing_grants(&client.get_location_grants("curated").await.unwrap(), &wanted).is_empty());
    assert_eq!(stand_in.location_grants("curated")["eng"], ["READ_FILES"]);

    client.delete_external_location("curated", false).await.unwrap();
    client.delete_storage_credential("lake", false).await.unwrap();
    client.delete_storage_credential("lake", false).await.unwrap();
    assert!(stand_in.storage_credentials().is_empty());
}
