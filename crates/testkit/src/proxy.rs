//! A fault proxy: a plain HTTP/1.1 proxy in front of the emulator or the
//! Databricks stand-in that, per request class and with a seed, throttles,
//! answers 5xx, lets the request through and drops the reply, or lets it
//! through and holds the reply past the client's read timeout.
//!
//! Each client connection carries one request: the proxy forwards it on a new
//! upstream connection with `Connection: close`, reads the whole reply, and
//! answers with `Connection: close`, so no connection is reused across a fault.
//!
//! ```no_run
//! # async fn demo(upstream: &str) {
//! use testkit::proxy::{FaultProxy, Faults};
//! let proxy = FaultProxy::start(upstream, 7, Faults::rule(|_| Faults { throttle: 0.2, drop_reply: 0.1, ..Faults::NONE }))
//!     .await
//!     .unwrap();
//! println!("point the client at {}", proxy.uri());
//! # }
//! ```

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::{io, Error};

/// What the proxy does to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fault {
    /// Forward the request and its reply.
    Pass,
    /// Answer "slow down" without forwarding: AWS's throttling error, or Databricks' 429.
    Throttle,
    /// Answer 5xx without forwarding (500 for AWS, 503 for Databricks).
    ServerError,
    /// Forward the request, then close the connection without the reply.
    DropReply,
    /// Forward the request, then hold the reply for [`FaultProxy::hang_for`] and close.
    Hang,
}

/// The chance of each fault for one request class; what is left passes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Faults {
    /// Chance of [`Fault::Throttle`].
    pub throttle: f64,
    /// Chance of [`Fault::ServerError`].
    pub server_error: f64,
    /// Chance of [`Fault::DropReply`].
    pub drop_reply: f64,
    /// Chance of [`Fault::Hang`].
    pub hang: f64,
}

/// Decides the faults of a request from its class (method, path, AWS service and operation).
pub type Rule = Arc<dyn Fn(&Request) -> Faults + Send + Sync>;

impl Faults {
    /// No fault: every request passes.
    pub const NONE: Faults = Faults { throttle: 0.0, server_error: 0.0, drop_reply: 0.0, hang: 0.0 };

    /// A [`Rule`] from a closure.
    pub fn rule(f: impl Fn(&Request) -> Faults + Send + Sync + 'static) -> Rule {
        Arc::new(f)
    }

    fn pick(&self, roll: f64) -> Fault {
        let mut edge = 0.0;
        for (chance, fault) in [
            (self.throttle, Fault::Throttle),
            (self.server_error, Fault::ServerError),
            (self.drop_reply, Fault::DropReply),
            (self.hang, Fault::Hang),
        ] {
            edge += chance;
            if roll < edge {
                return fault;
            }
        }
        Fault::Pass
    }
}

/// One request as the proxy read it.
#[derive(Debug, Clone)]
pub struct Request {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path with its query.
    pub path: String,
    /// Header names (lowercase) and values.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Request {
    /// A header's value (the name in lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The AWS service a SigV4-signed request is for (`iam`, `s3`, `kms`, `sts`), from its credential scope.
    pub fn aws_service(&self) -> Option<&str> {
        let auth = self.header("authorization")?;
        let scope = auth.split("Credential=").nth(1)?.split([',', ' ']).next()?;
        scope.split('/').nth(3)
    }

    /// The AWS operation: `Action=` of a query-protocol body (IAM, STS), the
    /// `X-Amz-Target` of a JSON one (KMS), or the method and path of a REST one (S3).
    pub fn aws_operation(&self) -> Option<String> {
        if let Some(target) = self.header("x-amz-target") {
            return target.rsplit('.').next().map(str::to_owned);
        }
        let body = String::from_utf8_lossy(&self.body);
        if let Some(action) = body.split('&').find_map(|kv| kv.strip_prefix("Action=")) {
            return Some(action.to_owned());
        }
        self.aws_service().map(|_| format!("{} {}", self.method, self.path))
    }

    /// True for a request that changes state: a POST to Databricks, or an AWS operation that is not a read.
    pub fn is_write(&self) -> bool {
        match self.aws_service() {
            Some("s3") => !matches!(self.method.as_str(), "GET" | "HEAD"),
            Some(_) => self
                .aws_operation()
                .is_some_and(|op| !["Get", "List", "Head", "Describe"].iter().any(|p| op.starts_with(p))),
            None => self.method == "POST",
        }
    }

    fn kind(&self) -> Kind {
        match self.aws_service() {
            None => Kind::Databricks,
            Some("s3") => Kind::S3,
            Some("kms") => Kind::Json,
            Some(_) => Kind::Query,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Query,
    Json,
    S3,
    Databricks,
}

struct State {
    rng: Mutex<StdRng>,
    rule: Mutex<Rule>,
    hang_for: Mutex<Duration>,
    seen: Mutex<BTreeMap<Fault, usize>>,
    log: Mutex<Vec<(String, Fault)>>,
    upstream: String,
}

/// A running fault proxy; it stops when dropped.
pub struct FaultProxy {
    uri: String,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultProxy {
    /// Starts a proxy on a free loopback port in front of `upstream`
    /// (`http://127.0.0.1:<port>`), deciding each request's fault with `rule`
    /// and a random generator seeded with `seed`.
    pub async fn start(upstream: &str, seed: u64, rule: Rule) -> Result<FaultProxy, Error> {
        let listener = TcpListener::bind("127.0.0.1:0").await.map_err(io("bind the fault proxy"))?;
        let port = listener.local_addr().map_err(io("read the fault proxy's port"))?.port();
        let upstream = upstream.trim_start_matches("http://").trim_end_matches('/').to_owned();
        let state = Arc::new(State {
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            rule: Mutex::new(rule),
            hang_for: Mutex::new(Duration::from_secs(30)),
            seen: Mutex::default(),
            log: Mutex::default(),
            upstream,
        });
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let state = shared.clone();
                tokio::spawn(async move {
                    if let Err(err) = serve(&state, client).await {
                        tracing::debug!(error = %err, "fault proxy connection");
                    }
                });
            }
        });
        Ok(FaultProxy { uri: format!("http://127.0.0.1:{port}"), state, task })
    }

    /// The proxy's base URI.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// Replaces the rule (a calm run after a faulty one, say).
    pub fn set_rule(&self, rule: Rule) {
        *lock(&self.state.rule) = rule;
    }

    /// How long a [`Fault::Hang`] holds the reply (30 s unless set).
    pub fn hang_for(&self, hold: Duration) {
        *lock(&self.state.hang_for) = hold;
    }

    /// How many requests met each fault.
    pub fn seen(&self) -> BTreeMap<Fault, usize> {
        lock(&self.state.seen).clone()
    }

    /// Every request (method and path, or the AWS operation) and its fault, in order.
    pub fn log(&self) -> Vec<(String, Fault)> {
        lock(&self.state.log).clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

async fn serve(state: &State, mut client: TcpStream) -> std::io::Result<()> {
    let Some(request) = read_request(&mut client).await? else { return Ok(()) };
    let faults = (lock(&state.rule))(&request);
    let roll: f64 = lock(&state.rng).gen();
    let fault = faults.pick(roll);
    *lock(&state.seen).entry(fault).or_default() += 1;
    let name = request.aws_operation().unwrap_or_else(|| format!("{} {}", request.method, request.path));
    lock(&state.log).push((name, fault));
    match fault {
        Fault::Throttle | Fault::ServerError => {
            client.write_all(&canned(request.kind(), fault)).await?;
            client.shutdown().await
        }
        Fault::Pass | Fault::DropReply | Fault::Hang => {
            let reply = forward(&state.upstream, &request).await?;
            match fault {
                Fault::Pass => {
                    client.write_all(&reply).await?;
                    client.shutdown().await
                }
                Fault::Hang => {
                    let hold = *lock(&state.hang_for);
                    tokio::time::sleep(hold).await;
                    Ok(())
                }
                _ => Ok(()),
            }
        }
    }
}

/// Reads one request: the head, then a body of `Content-Length` bytes or a chunked one. `None` on a closed connection.
async fn read_request(client: &mut TcpStream) -> std::io::Result<Option<Request>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = find(&buf, b"\r\n\r\n") {
            break at + 4;
        }
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let method = first.next().unwrap_or_default().to_owned();
    let path = first.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = buf[head_end..].to_vec();
    let length = headers.iter().find(|(n, _)| n == "content-length").and_then(|(_, v)| v.parse::<usize>().ok());
    let chunked = headers.iter().any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    loop {
        let done = match length {
            Some(len) => body.len() >= len,
            None if chunked => find(&body, b"0\r\n\r\n").is_some(),
            None => true,
        };
        if done {
            break;
        }
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Ok(Some(Request { method, path, headers, body }))
}

/// Sends the request upstream with `Connection: close` and returns the whole
/// reply, its `Connection` header set to `close`.
async fn forward(upstream: &str, request: &Request) -> std::io::Result<Vec<u8>> {
    let mut server = TcpStream::connect(upstream).await?;
    let mut head = format!("{} {} HTTP/1.1\r\n", request.method, request.path);
    for (name, value) in &request.headers {
        if name != "connection" {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    head.push_str("connection: close\r\n\r\n");
    server.write_all(head.as_bytes()).await?;
    server.write_all(&request.body).await?;
    let mut reply = Vec::new();
    server.read_to_end(&mut reply).await?;
    let Some(end) = find(&reply, b"\r\n\r\n") else { return Ok(reply) };
    let text = String::from_utf8_lossy(&reply[..end]).into_owned();
    let mut out = String::new();
    for line in text.split("\r\n") {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("Connection: close\r\n\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&reply[end + 4..]);
    Ok(bytes)
}

/// The answer a service gives for a throttle or a server error.
fn canned(kind: Kind, fault: Fault) -> Vec<u8> {
    let (status, content_type, body) = match (kind, fault) {
        (Kind::Query, Fault::Throttle) => (
            "400 Bad Request",
            "text/xml",
            r#"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>"#,
        ),
        (Kind::Json, Fault::Throttle) => (
            "400 Bad Request",
            "application/x-amz-json-1.1",
            r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
        ),
        (Kind::S3, Fault::Throttle) => (
            "503 Slow Down",
            "application/xml",
            r#"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>fault-proxy</RequestId></Error>"#,
        ),
        (Kind::Databricks, Fault::Throttle) => (
            "429 Too Many Requests",
            "application/json",
            r#"{"error_code":"REQUEST_LIMIT_EXCEEDED","message":"rate limit exceeded"}"#,
        ),
        (Kind::Query, _) => (
            "500 Internal Server Error",
            "text/xml",
            r#"<ErrorResponse><Error><Type>Receiver</Type><Code>ServiceFailure</Code><Message>internal error</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>"#,
        ),
        (Kind::Json, _) => (
            "500 Internal Server Error",
            "application/x-amz-json-1.1",
            r#"{"__type":"KMSInternalException","message":"internal error"}"#,
        ),
        (Kind::S3, _) => (
            "500 Internal Server Error",
            "application/xml",
            r#"<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message><RequestId>fault-proxy</RequestId></Error>"#,
        ),
        (Kind::Databricks, _) => (
            "503 Service Unavailable",
            "application/json",
            r#"{"error_code":"TEMPORARILY_UNAVAILABLE","message":"the service is temporarily unavailable"}"#,
        ),
    };
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(faults: Faults, roll: f64, expect: Fault) {
        assert_eq!(faults.pick(roll), expect);
    }

    #[test]
    fn chances_split_the_roll() {
        let mix = Faults { throttle: 0.2, drop_reply: 0.1, ..Faults::NONE };
        check(mix, 0.0, Fault::Throttle);
        check(mix, 0.19, Fault::Throttle);
        check(mix, 0.25, Fault::DropReply);
        check(mix, 0.31, Fault::Pass);
        check(Faults { hang: 1.0, ..Faults::NONE }, 0.99, Fault::Hang);
        check(Faults::NONE, 0.0, Fault::Pass);
    }

    #[test]
    fn aws_requests_are_classified() {
        let signed = |service: &str| {
            vec![(
                "authorization".to_owned(),
                format!(
                    "AWS4-HMAC-SHA256 Credential=AKID/20261201/us-east-1/{service}/aws4_request, SignedHeaders=host"
                ),
            )]
        };
        let iam = Request {
            method: "POST".into(),
            path: "/".into(),
            headers: signed("iam"),
            body: b"Action=CreateRole&Version=2010-05-08".to_vec(),
        };
        assert_eq!(iam.aws_service(), Some("iam"));
        assert_eq!(iam.aws_operation().as_deref(), Some("CreateRole"));
        assert!(iam.is_write());
        let mut kms = Request { method: "POST".into(), path: "/".into(), headers: signed("kms"), body: vec![] };
        kms.headers.push(("x-amz-target".into(), "TrentService.GetKeyPolicy".into()));
        assert_eq!(kms.aws_operation().as_deref(), Some("GetKeyPolicy"));
        assert!(!kms.is_write());
        let s3 = Request { method: "GET".into(), path: "/b?policy".into(), headers: signed("s3"), body: vec![] };
        assert!(!s3.is_write());
        let db =
            Request { method: "POST".into(), path: "/api/2.1/clusters/create".into(), headers: vec![], body: vec![] };
        assert_eq!(db.aws_service(), None);
        assert!(db.is_write());
    }
}
