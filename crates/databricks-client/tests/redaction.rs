//! Tokens and client secrets never show in `Debug`, `Display`, errors or logs (captured at TRACE, `log` records
//! included). This file is its own test binary because it installs a global subscriber.
#![cfg(test)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use databricks_client::{AuthSettings, Client, ClientOptions, Credentials, ManualClock};
use serde_json::json;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PAT: &str = "dapi0123456789abcdef-secret-pat";
const CLIENT_SECRET: &str = "dose-client-secret-42";
const ACCESS_TOKEN: &str = "eyJ-oauth-access-token-xyz";

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

#[tokio::test]
async fn secrets_never_show() {
    let capture = Capture::default();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(capture.clone())
        .with_ansi(false)
        .finish()
        .try_init()
        .unwrap();
    let mut shown = Vec::new();

    // PAT: a success, a throttle, an error whose message echoes the token, and a transport failure.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/2.0/instance-profiles/list"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/2.0/instance-profiles/list"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"instance_profiles": []})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/2.1/clusters/get"))
        .respond_with(ResponseTemplate::new(403).set_body_json(
            json!({"error_code": "PERMISSION_DENIED", "message": format!("token {PAT} is not allowed")}),
        ))
        .mount(&server)
        .await;
    let options = || ClientOptions { clock: Arc::new(ManualClock::new()), ..ClientOptions::default() };
    let settings = AuthSettings { host: Some(server.uri()), token: Some(PAT.into()), ..AuthSettings::default() };
    shown.push(format!("{settings:?}"));
    let client = Client::from_settings(&settings, &|_| None, options()).unwrap();
    shown.push(format!("{client:?} {:?} {:?}", client.credentials(), client.options()));
    client.list_instance_profiles().await.unwrap();
    let err = client.get_cluster("c").await.unwrap_err();
    shown.push(format!("{err} {err:?}"));
    let closed = Client::with_options(Credentials::pat("http://127.0.0.1:9", PAT).unwrap(), options()).unwrap();
    let err = closed.list_instance_profiles().await.unwrap_err();
    shown.push(format!("{err} {err:?}"));

    // OAuth M2M: a token fetch, a call, and a token endpoint that echoes the secret.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oidc/v1/token"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"access_token": ACCESS_TOKEN, "expires_in": 3600})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"error_code": "BAD", "message": format!("bearer {ACCESS_TOKEN}")})),
        )
        .mount(&server)
        .await;
    let settings = AuthSettings {
        host: Some(server.uri()),
        client_id: Some("sp".into()),
        client_secret: Some(CLIENT_SECRET.into()),
        ..AuthSettings::default()
    };
    let client = Client::from_settings(&settings, &|_| None, options()).unwrap();
    let err = client.list_instance_profiles().await.unwrap_err();
    shown.push(format!("{err} {err:?} {client:?} {:?}", client.credentials()));
    let failing = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_string(format!("bad secret {CLIENT_SECRET}")))
        .mount(&failing)
        .await;
    let settings = AuthSettings { host: Some(failing.uri()), ..settings };
    let client = Client::from_settings(&settings, &|_| None, options()).unwrap();
    let err = client.list_instance_profiles().await.unwrap_err();
    shown.push(format!("{err} {err:?}"));

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("databricks call"), "the capture saw nothing: {logs}");
    assert!(logs.contains("TRACE") || logs.contains("DEBUG"), "{logs}");
    for text in shown.iter().chain(std::iter::once(&logs)) {
        for secret in [PAT, CLIENT_SECRET, ACCESS_TOKEN] {
            assert!(!text.contains(secret), "`{secret}` leaked in: {text}");
        }
    }
    // The redacted forms are there instead.
    assert!(shown[2].contains("token *** is not allowed"), "{}", shown[2]);
    assert!(shown[5].contains("bad secret ***"), "{}", shown[5]);
}
