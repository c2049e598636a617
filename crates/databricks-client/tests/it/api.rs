//! Every endpoint, auth method, retry and error path against plain wiremock mocks.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use databricks_client::{
    AddInstanceProfile, ApiError, AuthSettings, Client, ClientOptions, ClusterState, CommandStatus, Credentials, Error,
    Language, ManualClock, ResultType,
};
use serde_json::{json, Value};
use wiremock::matchers::{body_json, body_string, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "dapi-unit-token";

fn options(clock: &Arc<ManualClock>) -> ClientOptions {
    ClientOptions { clock: clock.clone(), poll_interval: Duration::from_secs(5), ..ClientOptions::default() }
}

async fn setup() -> (MockServer, Client, Arc<ManualClock>) {
    let server = MockServer::start().await;
    let clock = Arc::new(ManualClock::new());
    let client = Client::with_options(Credentials::pat(&server.uri(), TOKEN).unwrap(), options(&clock)).unwrap();
    (server, client, clock)
}

fn bearer() -> wiremock::matchers::HeaderExactMatcher {
    header("authorization", format!("Bearer {TOKEN}").as_str())
}

async fn mock(server: &MockServer, verb: &str, route: &str, reply: ResponseTemplate) {
    Mock::given(method(verb)).and(path(route)).and(bearer()).respond_with(reply).mount(server).await;
}

async fn bodies(server: &MockServer) -> Vec<(String, String, Option<Value>)> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| (r.method.to_string(), r.url.path().to_owned(), serde_json::from_slice(&r.body).ok()))
        .collect()
}

#[tokio::test]
async fn instance_profile_endpoints() {
    let (server, client, _) = setup().await;
    mock(&server, "POST", "/api/2.0/instance-profiles/add", ResponseTemplate::new(200).set_body_json(json!({}))).await;
    mock(&server, "POST", "/api/2.0/instance-profiles/edit", ResponseTemplate::new(200).set_body_json(json!({}))).await;
    mock(&server, "POST", "/api/2.0/instance-profiles/remove", ResponseTemplate::new(200).set_body_string("")).await;
    mock(
        &server,
        "GET",
        "/api/2.0/instance-profiles/list",
        ResponseTemplate::new(200).set_body_json(
            json!({"instance_profiles": [{"instance_profile_arn": "arn:p", "is_meta_instance_profile": false}]}),
        ),
    )
    .await;
    let arn = "arn:aws:iam::111111111111:instance-profile/p";
    client
        .add_instance_profile(&AddInstanceProfile {
            instance_profile_arn: arn.into(),
            iam_role_arn: Some("arn:aws:iam::111111111111:role/r".into()),
            skip_validation: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    client.edit_instance_profile(arn, Some("arn:aws:iam::111111111111:role/r")).await.unwrap();
    client.remove_instance_profile(arn).await.unwrap();
    let listed = client.list_instance_profiles().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].instance_profile_arn, "arn:p");
    assert_eq!(
        bodies(&server).await,
        vec![
            (
                "POST".into(),
                "/api/2.0/instance-profiles/add".into(),
                Some(
                    json!({"instance_profile_arn": arn, "iam_role_arn": "arn:aws:iam::111111111111:role/r", "skip_validation": true})
                )
            ),
            (
                "POST".into(),
                "/api/2.0/instance-profiles/edit".into(),
                Some(json!({"instance_profile_arn": arn, "iam_role_arn": "arn:aws:iam::111111111111:role/r"}))
            ),
            ("POST".into(), "/api/2.0/instance-profiles/remove".into(), Some(json!({"instance_profile_arn": arn}))),
            ("GET".into(), "/api/2.0/instance-profiles/list".into(), None),
        ]
    );
    assert_eq!((client.reads(), client.writes()), (1, 3));
}

#[tokio::test]
async fn cluster_endpoints() {
    let (server, client, clock) = setup().await;
    mock(
        &server,
        "POST",
        "/api/2.1/clusters/create",
        ResponseTemplate::new(200).set_body_json(json!({"cluster_id": "c-1"})),
    )
    .await;
    mock(&server, "POST", "/api/2.1/clusters/edit", ResponseTemplate::new(200).set_body_json(json!({}))).await;
    mock(&server, "POST", "/api/2.1/clusters/start", ResponseTemplate::new(200).set_body_json(json!({}))).await;
    Mock::given(method("GET"))
        .and(path("/api/2.1/clusters/list"))
        .and(query_param("page_token", "p2"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"clusters": [{"cluster_id": "c-2", "state": "TERMINATED"}]})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/2.1/clusters/list"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"clusters": [{"cluster_id": "c-1", "cluster_name": "n", "state": "RUNNING"}], "next_page_token": "p2"})))
        .mount(&server)
        .await;
    // get: PENDING twice, then RUNNING.
    Mock::given(method("GET"))
        .and(path("/api/2.1/clusters/get"))
        .and(query_param("cluster_id", "c-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"cluster_id": "c-1", "state": "PENDING"})))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/2.1/clusters/get"))
        .and(query_param("cluster_id", "c-1"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"cluster_id": "c-1", "state": "RUNNING", "new_field": 1})),
        )
        .mount(&server)
        .await;

    let spec = json!({"cluster_name": "n", "spark_version": "15.4.x-scala2.12", "node_type_id": "i3.xlarge", "num_workers": 1});
    let spec = spec.as_object().unwrap().clone();
    assert_eq!(client.create_cluster(&spec).await.unwrap(), "c-1");
    let running = client.wait_for_state("c-1", ClusterState::Running, Duration::from_secs(60)).await.unwrap();
    assert_eq!(running.state, ClusterState::Running);
    assert_eq!(running.details["new_field"], 1);
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(5); 2]);
    client.edit_cluster("c-1", &spec).await.unwrap();
    client.start_cluster("c-1").await.unwrap();
    let listed: Vec<(String, ClusterState)> =
        client.list_clusters().await.unwrap().into_iter().map(|c| (c.cluster_id, c.state)).collect();
    assert_eq!(listed, vec![("c-1".into(), ClusterState::Running), ("c-2".into(), ClusterState::Terminated)]);

    let sent = bodies(&server).await;
    let edit = sent.iter().find(|(_, p, _)| p == "/api/2.1/clusters/edit").unwrap();
    let mut expected_edit = spec.clone();
    expected_edit.insert("cluster_id".into(), json!("c-1"));
    assert_eq!(edit.2, Some(Value::Object(expected_edit)));
    let start = sent.iter().find(|(_, p, _)| p == "/api/2.1/clusters/start").unwrap();
    assert_eq!(start.2, Some(json!({"cluster_id": "c-1"})));
}

#[tokio::test]
async fn wait_for_state_gives_up() {
    let (server, client, clock) = setup().await;
    Mock::given(method("GET"))
        .and(path("/api/2.1/clusters/get"))
        .and(query_param("cluster_id", "slow"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"cluster_id": "slow", "state": "PENDING", "state_message": "Finding instances"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/2.1/clusters/get"))
        .and(query_param("cluster_id", "dead"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"cluster_id": "dead", "state": "TERMINATED", "termination_reason": {"code": "AWS_AUTHORIZATION_FAILURE"}})))
        .mount(&server)
        .await;
    let err = client.wait_for_state("slow", ClusterState::Running, Duration::from_secs(20)).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "timed out after 20s waiting for cluster `slow` to be RUNNING; last seen: PENDING (Finding instances)"
    );
    assert_eq!(clock.sleeps().len(), 4);
    let err = client.wait_for_state("dead", ClusterState::Running, Duration::from_secs(20)).await.unwrap_err();
    assert_eq!(err.to_string(), "cluster `dead` is TERMINATED: waiting for RUNNING, found TERMINATED, termination code `AWS_AUTHORIZATION_FAILURE`");
}

#[tokio::test]
async fn command_execution() {
    let (server, client, clock) = setup().await;
    Mock::given(method("POST"))
        .and(path("/api/1.2/contexts/create"))
        .and(body_json(json!({"clusterId": "c-1", "language": "python"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "ctx"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/1.2/contexts/status"))
        .and(query_param("clusterId", "c-1"))
        .and(query_param("contextId", "ctx"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "ctx", "status": "Pending"})))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/1.2/contexts/status"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "ctx", "status": "Running"})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/1.2/commands/execute"))
        .and(body_json(
            json!({"clusterId": "c-1", "contextId": "ctx", "language": "python", "command": "dbutils.fs.ls('/mnt/b')"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "cmd"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/1.2/commands/status"))
        .and(query_param("commandId", "cmd"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "cmd", "status": "Running"})))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/1.2/commands/status"))
        .and(query_param("commandId", "cmd"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"id": "cmd", "status": "Finished", "results": {"resultType": "text", "data": "Out[1]: []"}}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/1.2/contexts/destroy"))
        .and(body_json(json!({"clusterId": "c-1", "contextId": "ctx"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "ctx"})))
        .expect(1)
        .mount(&server)
        .await;
    let result = client.run_command("c-1", Language::Python, "dbutils.fs.ls('/mnt/b')").await.unwrap();
    assert_eq!(result.status, CommandStatus::Finished);
    assert!(result.is_success());
    assert_eq!(result.text(), Some("Out[1]: []"));
    assert_eq!(clock.sleeps().len(), 3);
    server.verify().await;
}

#[tokio::test]
async fn command_error_result_and_context_always_destroyed() {
    let (server, client, _) = setup().await;
    mock(&server, "POST", "/api/1.2/contexts/create", ResponseTemplate::new(200).set_body_json(json!({"id": "ctx"})))
        .await;
    mock(
        &server,
        "GET",
        "/api/1.2/contexts/status",
        ResponseTemplate::new(200).set_body_json(json!({"id": "ctx", "status": "Running"})),
    )
    .await;
    mock(&server, "POST", "/api/1.2/commands/execute", ResponseTemplate::new(200).set_body_json(json!({"id": "cmd"})))
        .await;
    mock(
        &server,
        "GET",
        "/api/1.2/commands/status",
        ResponseTemplate::new(200).set_body_json(json!({"id": "cmd", "status": "Finished", "results": {"resultType": "error", "summary": "AccessDenied", "cause": "java.nio.file.AccessDeniedException: s3a://b/"}})),
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/api/1.2/contexts/destroy"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    let result = client.run_command("c-1", Language::Scala, "dbutils.fs.ls(\"s3a://b/\")").await.unwrap();
    assert!(!result.is_success());
    assert_eq!(result.results.as_ref().unwrap().result_type, Some(ResultType::Error));
    assert_eq!(result.failure().as_deref(), Some("java.nio.file.AccessDeniedException: s3a://b/"));
    server.verify().await;

    // An execute failure still destroys the context.
    let (server, client, _) = setup().await;
    mock(&server, "POST", "/api/1.2/contexts/create", ResponseTemplate::new(200).set_body_json(json!({"id": "ctx"})))
        .await;
    mock(
        &server,
        "GET",
        "/api/1.2/contexts/status",
        ResponseTemplate::new(200).set_body_json(json!({"id": "ctx", "status": "Running"})),
    )
    .await;
    mock(
        &server,
        "POST",
        "/api/1.2/commands/execute",
        ResponseTemplate::new(400).set_body_json(json!({"error_code": "INVALID_PARAMETER_VALUE", "message": "bad"})),
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/api/1.2/contexts/destroy"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    let err = client.run_command("c-1", Language::Python, "1").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "POST `/api/1.2/commands/execute`: databricks returned 400 INVALID_PARAMETER_VALUE: bad"
    );
    server.verify().await;
}

#[tokio::test]
async fn retries_honour_retry_after() {
    let (server, client, clock) = setup().await;
    Mock::given(method("GET"))
        .and(path("/api/2.0/instance-profiles/list"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "3")
                .set_body_json(json!({"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "slow down"})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/2.0/instance-profiles/list"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    mock(&server, "GET", "/api/2.0/instance-profiles/list", ResponseTemplate::new(200).set_body_json(json!({}))).await;
    assert!(client.list_instance_profiles().await.unwrap().is_empty());
    // Retry-After: 3 is honoured; a 503 without it waits the default second.
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(3), Duration::from_secs(1)]);
    assert_eq!(client.reads(), 3);
}

#[tokio::test]
async fn retries_stop_at_the_deadline() {
    let server = MockServer::start().await;
    let clock = Arc::new(ManualClock::new());
    let options = ClientOptions { retry_deadline: Duration::from_secs(10), ..options(&clock) };
    let client = Client::with_options(Credentials::pat(&server.uri(), TOKEN).unwrap(), options).unwrap();
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "4")
                .set_body_json(json!({"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "slow down"})),
        )
        .mount(&server)
        .await;
    let err = client.list_instance_profiles().await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "GET `/api/2.0/instance-profiles/list` still throttled after 3 attempts over 8s: databricks returned 429 REQUEST_LIMIT_EXCEEDED: slow down"
    );
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(4); 2]);
}

#[track_caller]
fn check_api_error(err: &Error, expect: ApiError) {
    assert_eq!(err.api(), Some(&expect), "{err}");
}

#[tokio::test]
async fn typed_errors() {
    let (server, client, _) = setup().await;
    mock(
        &server,
        "GET",
        "/api/2.1/clusters/get",
        ResponseTemplate::new(404)
            .set_body_json(json!({"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "Cluster x does not exist"})),
    )
    .await;
    mock(&server, "POST", "/api/2.1/clusters/start", ResponseTemplate::new(500).set_body_string("upstream exploded"))
        .await;
    mock(
        &server,
        "POST",
        "/api/2.1/clusters/edit",
        ResponseTemplate::new(400).set_body_json(json!({"error": "old style"})),
    )
    .await;
    let err = client.get_cluster("x").await.unwrap_err();
    check_api_error(
        &err,
        ApiError {
            status: 404,
            error_code: Some("RESOURCE_DOES_NOT_EXIST".into()),
            message: "Cluster x does not exist".into(),
        },
    );
    assert_eq!(
        err.to_string(),
        "GET `/api/2.1/clusters/get`: databricks returned 404 RESOURCE_DOES_NOT_EXIST: Cluster x does not exist"
    );
    let err = client.start_cluster("x").await.unwrap_err();
    check_api_error(&err, ApiError { status: 500, error_code: None, message: "upstream exploded".into() });
    let err = client.edit_cluster("x", &serde_json::Map::new()).await.unwrap_err();
    check_api_error(&err, ApiError { status: 400, error_code: None, message: "old style".into() });
    // No mock: wiremock answers 404 with an empty body.
    let err = client.destroy_context("c", "x").await.unwrap_err();
    check_api_error(&err, ApiError { status: 404, error_code: None, message: "Not Found".into() });
}

#[tokio::test]
async fn iam_lag_is_retried_with_backoff_and_bounded() {
    let (server, client, clock) = setup().await;
    let lag = json!({"error_code": "DRY_RUN_FAILED", "message": "Verification of the instance profile failed. AWS error: Value (arn) for parameter iamInstanceProfile.arn is invalid. Invalid IAM Instance Profile ARN"});
    Mock::given(method("POST"))
        .and(path("/api/2.0/instance-profiles/add"))
        .respond_with(ResponseTemplate::new(400).set_body_json(lag.clone()))
        .up_to_n_times(3)
        .mount(&server)
        .await;
    mock(&server, "POST", "/api/2.0/instance-profiles/add", ResponseTemplate::new(200).set_body_json(json!({}))).await;
    let request = AddInstanceProfile {
        instance_profile_arn: "arn:aws:iam::111111111111:instance-profile/p".into(),
        ..Default::default()
    };
    client.add_instance_profile(&request).await.unwrap();
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(2), Duration::from_secs(4), Duration::from_secs(8)]);

    let server = MockServer::start().await;
    let clock = Arc::new(ManualClock::new());
    let opts = ClientOptions { iam_lag_attempts: 3, ..options(&clock) };
    let client = Client::with_options(Credentials::pat(&server.uri(), TOKEN).unwrap(), opts).unwrap();
    mock(&server, "POST", "/api/2.0/instance-profiles/add", ResponseTemplate::new(400).set_body_json(lag)).await;
    let err = client.add_instance_profile(&request).await.unwrap_err();
    assert!(matches!(err, Error::InstanceProfileNotVisible { attempts: 3, .. }), "{err:?}");
    assert_eq!(err.to_string(), "instance profile `arn:aws:iam::111111111111:instance-profile/p` is still unknown to ec2 after 3 attempts over 6s (iam propagation); check that the instance profile exists in the deployment account, then re-run");
}

#[tokio::test]
async fn dry_run_not_authorized_names_pass_role() {
    let (server, client, _) = setup().await;
    mock(
        &server,
        "POST",
        "/api/2.0/instance-profiles/add",
        ResponseTemplate::new(400).set_body_json(json!({"error_code": "DRY_RUN_FAILED", "message": "Verification of the instance profile failed. AWS error: You are not authorized to perform this operation."})),
    )
    .await;
    let request = AddInstanceProfile {
        instance_profile_arn: "arn:aws:iam::111111111111:instance-profile/p".into(),
        ..Default::default()
    };
    let err = client.add_instance_profile(&request).await.unwrap_err();
    assert_eq!(err.to_string(), "databricks could not validate instance profile `arn:aws:iam::111111111111:instance-profile/p`: the ec2 dry run was not authorized. The likely cause is that the deployment (cross-account) role lacks `iam:PassRole` on the instance role, or that an SCP denies the dry run. Databricks said: Verification of the instance profile failed. AWS error: You are not authorized to perform this operation.");
}

#[tokio::test]
async fn pat_from_env_is_sent_as_bearer() {
    let server = MockServer::start().await;
    let env = databricks_client::auth::fixed_env([
        ("DATABRICKS_HOST", server.uri().as_str()),
        ("DATABRICKS_TOKEN", "env-token"),
    ]);
    let client = Client::from_settings(&AuthSettings::default(), env.as_ref(), ClientOptions::default()).unwrap();
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer env-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"instance_profiles": []})))
        .expect(1)
        .mount(&server)
        .await;
    client.list_instance_profiles().await.unwrap();
    server.verify().await;
}

#[tokio::test]
async fn oauth_m2m_token_is_cached_and_refreshed() {
    let server = MockServer::start().await;
    let clock = Arc::new(ManualClock::new());
    let settings = AuthSettings {
        host: Some(server.uri()),
        client_id: Some("sp-id".into()),
        client_secret: Some("sp-secret".into()),
        ..AuthSettings::default()
    };
    let client = Client::from_settings(&settings, &|_| None, options(&clock)).unwrap();
    for (n, token) in ["oauth-1", "oauth-2"].iter().enumerate() {
        Mock::given(method("POST"))
            .and(path("/oidc/v1/token"))
            .and(header("authorization", "Basic c3AtaWQ6c3Atc2VjcmV0"))
            .and(header("content-type", "application/x-www-form-urlencoded"))
            .and(body_string("grant_type=client_credentials&scope=all-apis"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"access_token": token, "token_type": "Bearer", "expires_in": 3600})),
            )
            .up_to_n_times(1)
            .with_priority(u8::try_from(n + 1).unwrap())
            .expect(1)
            .mount(&server)
            .await;
    }
    for token in ["oauth-1", "oauth-2"] {
        Mock::given(method("GET"))
            .and(header("authorization", format!("Bearer {token}").as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"instance_profiles": []})))
            .mount(&server)
            .await;
    }
    client.list_instance_profiles().await.unwrap();
    clock.advance(Duration::from_secs(3000));
    client.list_instance_profiles().await.unwrap(); // still cached: 600 s left
    clock.advance(Duration::from_secs(560));
    client.list_instance_profiles().await.unwrap(); // within the 60 s margin: refreshed
    server.verify().await;
    let used: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() != "/oidc/v1/token")
        .map(|r| r.headers.get("authorization").unwrap().to_str().unwrap().to_owned())
        .collect();
    assert_eq!(used, vec!["Bearer oauth-1", "Bearer oauth-1", "Bearer oauth-2"]);
    assert_eq!(client.reads(), 3);
}

#[tokio::test]
async fn oauth_token_failure_is_reported_without_the_secret() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oidc/v1/token"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_client sp-secret"})))
        .mount(&server)
        .await;
    let settings = AuthSettings {
        host: Some(server.uri()),
        client_id: Some("sp-id".into()),
        client_secret: Some("sp-secret".into()),
        ..AuthSettings::default()
    };
    let client = Client::from_settings(&settings, &|_| None, ClientOptions::default()).unwrap();
    let err = client.list_instance_profiles().await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "oauth token request to `{}/oidc/v1/token` failed: databricks returned 401: invalid_client ***",
            server.uri()
        )
    );
}

#[tokio::test]
async fn spark_conf_merge_is_pure() {
    let mut spec = json!({"spark_conf": {"keep": "1", "spark.hadoop.fs.s3a.credentialsType": "Other"}, "aws_attributes": {"zone_id": "auto"}});
    let spec = spec.as_object_mut().unwrap();
    let conf: BTreeMap<String, String> = [("spark.hadoop.fs.s3a.credentialsType", "AssumeRole"), ("keep", "1")]
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
    let changes = databricks_client::apply_access(spec, &databricks_client::AccessSpec::new("arn:ip", conf.clone()));
    assert_eq!(
        changes,
        vec![
            "aws_attributes.instance_profile_arn: (none) -> arn:ip",
            "spark_conf.spark.hadoop.fs.s3a.credentialsType: Other -> AssumeRole"
        ]
    );
    assert_eq!(
        Value::Object(spec.clone()),
        json!({"spark_conf": {"keep": "1", "spark.hadoop.fs.s3a.credentialsType": "AssumeRole"}, "aws_attributes": {"zone_id": "auto", "instance_profile_arn": "arn:ip"}})
    );
    assert!(
        databricks_client::apply_access(spec, &databricks_client::AccessSpec::new("arn:ip", conf.clone())).is_empty()
    );
}

#[tokio::test]
async fn oauth_token_rejected_early_is_refetched_once() {
    let server = MockServer::start().await;
    for (n, token) in ["revoked", "fresh"].iter().enumerate() {
        Mock::given(method("POST"))
            .and(path("/oidc/v1/token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": token, "expires_in": 3600})))
            .up_to_n_times(1)
            .with_priority(u8::try_from(n + 1).unwrap())
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer revoked"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"error_code": "UNAUTHENTICATED", "message": "expired"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer fresh"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"instance_profiles": []})))
        .mount(&server)
        .await;
    let settings = AuthSettings {
        host: Some(server.uri()),
        client_id: Some("sp-id".into()),
        client_secret: Some("sp-secret".into()),
        ..AuthSettings::default()
    };
    let client = Client::from_settings(&settings, &|_| None, ClientOptions::default()).unwrap();
    client.list_instance_profiles().await.unwrap();
    assert_eq!(client.reads(), 2);

    // A PAT that is refused is not retried.
    let (server, client, _) = setup().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"error_code": "UNAUTHENTICATED", "message": "no"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = client.list_instance_profiles().await.unwrap_err();
    assert_eq!(err.api().unwrap().status, 401);
    server.verify().await;
}

/// One retry rule: which failures are sent again, and how many requests that makes.
#[tokio::test]
async fn server_errors_are_retried_only_where_a_repeat_is_safe() {
    #[track_caller]
    fn check(case: &str, requests: usize, result: Result<(), Error>, expect: (usize, bool)) {
        assert_eq!((requests, result.is_ok()), expect, "{case}: {result:?}");
    }
    let fail_once = |status: u16| {
        ResponseTemplate::new(status).set_body_json(json!({"error_code": "INTERNAL_ERROR", "message": "oops"}))
    };
    for (case, verb, route, status, expect) in [
        ("a GET after a 500", "GET", "/api/2.0/instance-profiles/list", 500, (2, true)),
        ("a GET after a 502", "GET", "/api/2.1/clusters/get", 502, (2, true)),
        ("an edit after a 504", "POST", "/api/2.1/clusters/edit", 504, (2, true)),
        ("a create after a 500", "POST", "/api/2.1/clusters/create", 500, (1, false)),
        ("an execute after a 500", "POST", "/api/1.2/commands/execute", 500, (1, false)),
        ("a GET after a 403", "GET", "/api/2.0/instance-profiles/list", 403, (1, false)),
    ] {
        let (server, client, _clock) = setup().await;
        Mock::given(method(verb))
            .and(path(route))
            .respond_with(fail_once(status))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        let ok = json!({"cluster_id": "c1", "id": "x", "state": "RUNNING", "instance_profiles": []});
        mock(&server, verb, route, ResponseTemplate::new(200).set_body_json(ok)).await;
        let result = match route {
            "/api/2.0/instance-profiles/list" => client.list_instance_profiles().await.map(drop),
            "/api/2.1/clusters/get" => client.get_cluster("c1").await.map(drop),
            "/api/2.1/clusters/edit" => client.edit_cluster("c1", &serde_json::Map::new()).await,
            "/api/2.1/clusters/create" => client.create_cluster(&serde_json::Map::new()).await.map(drop),
            _ => client.execute_command("c1", "ctx", Language::Python, "1").await.map(drop),
        };
        check(case, server.received_requests().await.unwrap().len(), result, expect);
    }
}

#[tokio::test]
async fn a_refused_connection_is_retried_once_and_names_the_host() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let host = format!("http://127.0.0.1:{port}");
    let clock = Arc::new(ManualClock::new());
    let client = Client::with_options(Credentials::pat(&host, TOKEN).unwrap(), options(&clock)).unwrap();
    let err = client.list_instance_profiles().await.unwrap_err();
    assert!(matches!(err, Error::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().starts_with(&format!("cannot reach Databricks at `{host}`")), "{err}");
    assert_eq!(clock.sleeps().len(), 1, "one short retry");
    assert_eq!(client.reads(), 2);
}

/// An add that finds the profile registered (its first attempt's reply was lost) reads it back.
#[tokio::test]
async fn an_add_that_already_took_effect_is_read_back() {
    let profile = "arn:aws:iam::111111111111:instance-profile/MyRoleA";
    let role = "arn:aws:iam::111111111111:role/MyRoleA";
    for (registered, expect_ok) in [(json!([]), true), (json!([{"instance_profile_arn": profile}]), true)] {
        let (server, client, _clock) = setup().await;
        let empty = ResponseTemplate::new(200).set_body_json(json!({"instance_profiles": registered}));
        Mock::given(method("GET"))
            .and(path("/api/2.0/instance-profiles/list"))
            .respond_with(empty)
            .up_to_n_times(1)
            .mount(&server)
            .await;
        let listed =
            ResponseTemplate::new(200).set_body_json(json!({"instance_profiles": [{"instance_profile_arn": profile}]}));
        mock(&server, "GET", "/api/2.0/instance-profiles/list", listed).await;
        let exists = ResponseTemplate::new(409).set_body_json(
            json!({"error_code": "RESOURCE_ALREADY_EXISTS", "message": "Instance profile already exists"}),
        );
        mock(&server, "POST", "/api/2.0/instance-profiles/add", exists).await;
        let result = client.ensure_instance_profile(profile, role).await;
        assert_eq!(result.is_ok(), expect_ok, "{result:?}");
    }
    // Registered for another role: an error that names the profile.
    let (server, client, _clock) = setup().await;
    let other = ResponseTemplate::new(200).set_body_json(json!({"instance_profiles": []}));
    Mock::given(method("GET"))
        .and(path("/api/2.0/instance-profiles/list"))
        .respond_with(other)
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let listed = ResponseTemplate::new(200).set_body_json(
        json!({"instance_profiles": [{"instance_profile_arn": profile, "iam_role_arn": "arn:aws:iam::111111111111:role/Other"}]}),
    );
    mock(&server, "GET", "/api/2.0/instance-profiles/list", listed).await;
    let exists = ResponseTemplate::new(409)
        .set_body_json(json!({"error_code": "RESOURCE_ALREADY_EXISTS", "message": "Instance profile already exists"}));
    mock(&server, "POST", "/api/2.0/instance-profiles/add", exists).await;
    let err = client.ensure_instance_profile(profile, "arn:aws:iam::111111111111:role/Renamed").await.unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("instance profile `{profile}` already exists but is not registered as planned")),
        "{err}"
    );
}
