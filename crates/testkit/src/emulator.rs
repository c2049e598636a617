//! The AWS emulator: moto's server or LocalStack as a child process, or any
//! endpoint named by `XACCT_AWS_ENDPOINT`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;

use crate::{io, venv, Error};

/// The region every emulated account uses.
pub const REGION: &str = "us-east-1";

/// Which AWS emulator the harness runs or talks to.
///
/// `XACCT_EMULATOR=moto|localstack` chooses; without it the harness starts moto,
/// and an endpoint brought through `XACCT_AWS_ENDPOINT` is taken to be LocalStack.
/// The backend decides how accounts are bootstrapped and which control calls exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// moto's server (`tools/requirements.txt`, in `.venv`).
    Moto,
    /// LocalStack without Docker (`tools/requirements-localstack.txt`, in `.venv-localstack`).
    LocalStack,
}

impl Backend {
    /// The backend `XACCT_EMULATOR` names (see [`Backend`] for the default).
    pub fn from_env() -> Result<Backend, Error> {
        match std::env::var("XACCT_EMULATOR") {
            Ok(name) => Backend::parse(&name),
            Err(_) if std::env::var_os("XACCT_AWS_ENDPOINT").is_some() => Ok(Backend::LocalStack),
            Err(_) => Ok(Backend::Moto),
        }
    }

    /// `moto` or `localstack`, as `XACCT_EMULATOR` spells them.
    pub fn parse(name: &str) -> Result<Backend, Error> {
        match name {
            "moto" => Ok(Backend::Moto),
            "localstack" => Ok(Backend::LocalStack),
            other => Err(Error::UnknownEmulator(other.to_owned())),
        }
    }

    /// The name `XACCT_EMULATOR` takes.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Moto => "moto",
            Backend::LocalStack => "localstack",
        }
    }

    fn venv(self) -> &'static venv::Venv {
        match self {
            Backend::Moto => &venv::MOTO,
            Backend::LocalStack => &venv::LOCALSTACK,
        }
    }

    /// Creates this backend's pinned venv unless it is already complete.
    /// Returns true when it installed anything.
    pub fn ensure_venv(self) -> Result<bool, Error> {
        self.venv().ensure()
    }

    /// The venv's interpreter, which runs the emulator.
    pub fn python(self) -> PathBuf {
        self.venv().python()
    }

    /// How long a stopping child may take before it is killed.
    fn stop_timeout(self) -> Duration {
        match self {
            Backend::Moto => Duration::from_secs(2),
            Backend::LocalStack => Duration::from_secs(5),
        }
    }
}

/// A running emulator. Dropping it stops the child process; if the test
/// process dies first, the child sees its stdin close and exits by itself.
pub struct Emulator {
    endpoint: String,
    backend: Backend,
    child: Option<ChildEmulator>,
}

struct ChildEmulator {
    process: Child,
    stdin: ChildStdin,
    /// LocalStack's state dir: removed once the process is gone.
    _state: Option<tempfile::TempDir>,
}

impl Emulator {
    /// Uses `XACCT_AWS_ENDPOINT` when it is set; otherwise starts the backend
    /// that `XACCT_EMULATOR` names (moto by default) as a child process.
    pub fn start() -> Result<Emulator, Error> {
        let backend = Backend::from_env()?;
        if let Ok(endpoint) = std::env::var("XACCT_AWS_ENDPOINT") {
            return Ok(Emulator { endpoint, backend, child: None });
        }
        Emulator::start_child(backend)
    }

    /// Starts `backend` from its venv on a free loopback port, whatever
    /// `XACCT_AWS_ENDPOINT` says. LocalStack gets a state dir of its own.
    pub fn start_child(backend: Backend) -> Result<Emulator, Error> {
        let python = backend.python();
        if !python.exists() {
            let installers = match backend {
                Backend::Moto => "`cargo xtask test` or `cargo xtask demo`, which install it",
                Backend::LocalStack => "`cargo xtask test`, which installs it",
            };
            return Err(Error::NotReady(format!("`{}` is missing: run {installers}", python.display())));
        }
        let port = free_port()?;
        let tools = venv::workspace_root().join("tools");
        let mut command = Command::new(python);
        let state = match backend {
            Backend::Moto => {
                command.arg(tools.join("moto_wrapper.py")).arg(port.to_string());
                None
            }
            Backend::LocalStack => {
                let state = tempfile::Builder::new()
                    .prefix("xacct-localstack-")
                    .tempdir()
                    .map_err(io("create LocalStack's state dir"))?;
                command.arg(tools.join("localstack_wrapper.py")).arg(port.to_string()).arg(state.path());
                Some(state)
            }
        };
        let mut process = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(io(format!("start {}", backend.name())))?;
        let stdin = process.stdin.take().ok_or_else(|| Error::NotReady("no stdin pipe".into()))?;
        let stdout = process.stdout.take().ok_or_else(|| Error::NotReady("no stdout pipe".into()))?;
        let endpoint = format!("http://127.0.0.1:{port}");
        // From here on, dropping `emulator` stops the child.
        let emulator = Emulator { endpoint, backend, child: Some(ChildEmulator { process, stdin, _state: state }) };
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        stdout.read_line(&mut line).map_err(io(format!("read the ready line of {}", backend.name())))?;
        if !line.starts_with("ready") {
            let mut rest = String::new();
            let _ = stdout.read_to_string(&mut rest);
            return Err(Error::NotReady(format!(
                "{} printed `{}` instead of its ready line\n{rest}",
                backend.name(),
                line.trim()
            )));
        }
        wait_for_port(port, Duration::from_secs(10))?;
        tracing::info!(endpoint = %emulator.endpoint, backend = backend.name(), "emulator started");
        Ok(emulator)
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The emulator behind [`Emulator::endpoint`].
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// True when this harness started the emulator (rather than using `XACCT_AWS_ENDPOINT`).
    pub fn is_child(&self) -> bool {
        self.child.is_some()
    }

    /// The OS process id of the child emulator (for LocalStack: of its wrapper).
    pub fn child_pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.process.id())
    }

    /// Makes one AWS profile per account, named `acct-<id>`, tied to that account.
    ///
    /// For moto: assume `arn:aws:iam::<id>:role/xacct-bootstrap` from any static
    /// credentials (moto allows it even when the role does not exist) and keep
    /// the session's keys. For LocalStack: the 12-digit account ID is the access key.
    pub async fn bootstrap(&self, accounts: &[&str]) -> Result<Profiles, Error> {
        let dir = tempfile::tempdir().map_err(io("create a temp dir for AWS profiles"))?;
        let mut profiles = bootstrap_into(&self.endpoint, self.backend, dir.path(), accounts).await?;
        profiles._dir = Some(dir);
        Ok(profiles)
    }

    /// Switches moto's permission checks on (`true`) or off. See docs/emulators.md.
    /// LocalStack (community) checks no permissions and has no such switch.
    pub fn set_auth_checks(&self, on: bool) -> Result<(), Error> {
        self.moto_only("permission checks")?;
        let body = if on { "0" } else { "inf" };
        http_post(&self.endpoint, "/moto-api/reset-auth", body)
    }

    /// Forgets every account's state (moto only).
    pub fn reset(&self) -> Result<(), Error> {
        self.moto_only("a state reset")?;
        http_post(&self.endpoint, "/moto-api/reset", "")
    }

    fn moto_only(&self, what: &'static str) -> Result<(), Error> {
        match self.backend {
            Backend::Moto => Ok(()),
            other => Err(Error::MotoOnly { what, backend: other.name() }),
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(ChildEmulator { mut process, stdin, _state }) = self.child.take() {
            drop(stdin);
            let deadline = Instant::now() + self.backend.stop_timeout();
            while Instant::now() < deadline {
                if let Ok(Some(_)) = process.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = process.kill();
            let _ = process.wait();
        }
    }
}

/// Writes `config` and `credentials` files with one profile per account into `dir`.
pub async fn bootstrap_into(
    endpoint: &str,
    backend: Backend,
    dir: &Path,
    accounts: &[&str],
) -> Result<Profiles, Error> {
    let mut credentials = String::new();
    let mut config = String::new();
    for account in accounts {
        let (key, secret, token) = match backend {
            Backend::Moto => assume_into(endpoint, account).await?,
            Backend::LocalStack => ((*account).to_owned(), random_secret(), None),
        };
        let name = Profiles::profile_name(account);
        credentials.push_str(&format!("[{name}]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n"));
        if let Some(token) = token {
            credentials.push_str(&format!("aws_session_token = {token}\n"));
        }
        config.push_str(&format!("[profile {name}]\nregion = {REGION}\n"));
    }
    let config_file = dir.join("config");
    let credentials_file = dir.join("credentials");
    std::fs::write(&config_file, config).map_err(io("write the AWS config file"))?;
    std::fs::write(&credentials_file, credentials).map_err(io("write the AWS credentials file"))?;
    Ok(Profiles { _dir: None, config_file, credentials_file, endpoint: endpoint.to_owned() })
}

/// LocalStack takes any secret key; a random one can be looked for in output, as the
/// tests for leaked secrets do, where a word such as `test` could not.
fn random_secret() -> String {
    use std::hash::{BuildHasher, RandomState};
    let state = RandomState::new();
    (0u64..3).map(|i| format!("{:016x}", state.hash_one(i))).collect()
}

async fn assume_into(endpoint: &str, account: &str) -> Result<(String, String, Option<String>), Error> {
    let fail = |message: String| Error::Bootstrap { account: account.to_owned(), message };
    let config = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new("AKIAXACCTBOOTSTRAP00", "bootstrap", None, None, "testkit"))
        .load()
        .await;
    let out = aws_sdk_sts::Client::new(&config)
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/xacct-bootstrap"))
        .role_session_name("xacct-bootstrap")
        .duration_seconds(43_200)
        .send()
        .await
        .map_err(|e| fail(format!("{e:?}")))?;
    let creds = out.credentials.ok_or_else(|| fail("AssumeRole returned no credentials".into()))?;
    Ok((creds.access_key_id, creds.secret_access_key, Some(creds.session_token)))
}

/// AWS config and credentials files with one profile per bootstrapped account.
pub struct Profiles {
    _dir: Option<tempfile::TempDir>,
    config_file: PathBuf,
    credentials_file: PathBuf,
    endpoint: String,
}

impl Profiles {
    /// The profile name for an account: `acct-<id>`.
    pub fn profile_name(account: &str) -> String {
        format!("acct-{account}")
    }

    /// The environment a process needs to use these profiles against the emulator:
    /// `AWS_CONFIG_FILE`, `AWS_SHARED_CREDENTIALS_FILE`, `AWS_ENDPOINT_URL`, `AWS_REGION`.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_CONFIG_FILE", self.config_file.display().to_string()),
            ("AWS_SHARED_CREDENTIALS_FILE", self.credentials_file.display().to_string()),
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_REGION", REGION.to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ]
    }

    /// Sets [`Profiles::env`] on this process, for code that reads the standard
    /// chain. nextest runs each test in its own process, so this stays local to one test.
    pub fn export(&self) {
        for (key, value) in self.env() {
            std::env::set_var(key, value);
        }
    }

    pub fn config_file(&self) -> &Path {
        &self.config_file
    }

    pub fn credentials_file(&self) -> &Path {
        &self.credentials_file
    }

    /// An SDK config for one account's profile, read through the standard
    /// profile files (no env needed).
    pub async fn sdk_config(&self, account: &str) -> SdkConfig {
        use aws_runtime::env_config::file::{EnvConfigFileKind as ProfileFileKind, EnvConfigFiles as ProfileFiles};
        let files = ProfileFiles::builder()
            .with_file(ProfileFileKind::Config, &self.config_file)
            .with_file(ProfileFileKind::Credentials, &self.credentials_file)
            .build();
        aws_config::defaults(BehaviorVersion::latest())
            .profile_files(files)
            .profile_name(Self::profile_name(account))
            .endpoint_url(&self.endpoint)
            .region(Region::new(REGION))
            .load()
            .await
    }
}

fn free_port() -> Result<u16, Error> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(io("find a free loopback port"))?;
    Ok(listener.local_addr().map_err(io("read the free port"))?.port())
}

fn wait_for_port(port: u16, timeout: Duration) -> Result<(), Error> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    Err(Error::NotReady(format!("nothing listens on port {port} after {timeout:?}")))
}

/// A bare HTTP/1.1 POST for moto's control API, which needs no client library.
fn http_post(endpoint: &str, path: &str, body: &str) -> Result<(), Error> {
    let authority = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(authority).map_err(io(format!("connect to {authority}")))?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).map_err(io(format!("POST {path}")))?;
    let mut status = String::new();
    BufReader::new(stream).read_line(&mut status).map_err(io(format!("read the answer to POST {path}")))?;
    if status.split_whitespace().nth(1).is_some_and(|code| code.starts_with('2')) {
        Ok(())
    } else {
        Err(Error::NotReady(format!("POST {path} answered `{}`", status.trim())))
    }
}

/// An emulator started for manual use by `cargo xtask emulator up`: a
/// detached `moto_server` whose pid, endpoint and profiles live in `dir`.
pub struct Detached;

impl Detached {
    /// Starts moto detached and writes profiles for `accounts` into `dir`.
    pub async fn up(dir: &Path, accounts: &[&str]) -> Result<Profiles, Error> {
        if let Some(endpoint) = Self::running(dir) {
            return Err(Error::NotReady(format!(
                "an emulator started earlier still runs at {endpoint}; stop it first"
            )));
        }
        std::fs::create_dir_all(dir).map_err(io(format!("create {}", dir.display())))?;
        let (endpoint, backend) = match std::env::var("XACCT_AWS_ENDPOINT") {
            Ok(endpoint) => (endpoint, Backend::from_env()?),
            Err(_) => {
                let port = free_port()?;
                let server = venv::venv_python().with_file_name("moto_server");
                let child = Command::new(&server)
                    .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .map_err(io(format!("start {}", server.display())))?;
                std::fs::write(dir.join("pid"), child.id().to_string()).map_err(io("write the pid file"))?;
                wait_for_port(port, Duration::from_secs(15))?;
                (format!("http://127.0.0.1:{port}"), Backend::Moto)
            }
        };
        std::fs::write(dir.join("endpoint"), &endpoint).map_err(io("write the endpoint file"))?;
        bootstrap_into(&endpoint, backend, dir, accounts).await
    }

    /// The endpoint of a running detached emulator, if any.
    pub fn running(dir: &Path) -> Option<String> {
        let endpoint = std::fs::read_to_string(dir.join("endpoint")).ok()?;
        let authority = endpoint.trim_start_matches("http://").trim_end_matches('/').to_owned();
        TcpStream::connect(authority).ok().map(|_| endpoint)
    }

    /// The profiles written by [`Detached::up`].
    pub fn profiles(dir: &Path) -> Option<Profiles> {
        let endpoint = Self::running(dir)?;
        Some(Profiles {
            _dir: None,
            config_file: dir.join("config"),
            credentials_file: dir.join("credentials"),
            endpoint,
        })
    }

    /// Stops the detached emulator. Returns false when none was running.
    pub fn down(dir: &Path) -> Result<bool, Error> {
        let Ok(pid) = std::fs::read_to_string(dir.join("pid")) else { return Ok(false) };
        let status = Command::new("kill").arg(pid.trim()).status().map_err(io("run kill"))?;
        for file in ["pid", "endpoint"] {
            let _ = std::fs::remove_file(dir.join(file));
        }
        Ok(status.success())
    }
}

impl Profiles {
    /// An S3 client for one account's profile (path-style, as the emulator needs).
    pub async fn s3(&self, account: &str) -> aws_sdk_s3::Client {
        let config = self.sdk_config(account).await;
        aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build())
    }

    /// A blocking `dbutils.fs.ls` answer for the Databricks stand-in: the keys
    /// in `bucket`, listed through the emulator with `account`'s profile.
    pub fn ls_handler(&self, account: &str) -> crate::databricks::LsHandler {
        let config_file = self.config_file.clone();
        let credentials_file = self.credentials_file.clone();
        let endpoint = self.endpoint.clone();
        let account = account.to_owned();
        std::sync::Arc::new(move |bucket: &str| {
            let profiles = Profiles {
                _dir: None,
                config_file: config_file.clone(),
                credentials_file: credentials_file.clone(),
                endpoint: endpoint.clone(),
            };
            let (account, bucket) = (account.clone(), bucket.to_owned());
            // The stand-in answers on its own runtime; list on a thread of our own.
            std::thread::spawn(move || {
                let runtime =
                    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
                runtime.block_on(async {
                    let out = profiles.s3(&account).await.list_objects_v2().bucket(&bucket).send().await;
                    let out = out.map_err(|e| format!("{}", aws_sdk_s3::error::DisplayErrorContext(e)))?;
                    Ok(out.contents().iter().filter_map(|o| o.key().map(str::to_owned)).collect())
                })
            })
            .join()
            .map_err(|_| "the listing thread panicked".to_owned())?
        })
    }
}
