//! Unified auth, following the Databricks SDKs: explicit settings, then the environment, then a
//! `~/.databrickscfg` profile.
//!
//! Each field is taken from the first source that has it. The config file is read only when a profile is named, or
//! when neither a host nor a credential came from the settings or the environment (as the SDKs do). A personal
//! access token and OAuth client credentials together are ambiguous and refused.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::secret::Secret;

/// Looks up one environment variable. Inject a map in tests instead of mutating the process environment.
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The process environment.
pub fn process_env() -> EnvLookup {
    Arc::new(|name| std::env::var(name).ok().filter(|value| !value.is_empty()))
}

/// An environment made of fixed pairs, for tests.
pub fn fixed_env<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> EnvLookup {
    let map: BTreeMap<String, String> = pairs.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
    Arc::new(move |name| map.get(name).cloned())
}

/// Auth inputs given explicitly, for example `host` and `profile` from `xacct.toml` `[databricks]`.
#[derive(Debug, Clone, Default)]
pub struct AuthSettings {
    /// The workspace URL, e.g. `https://dbc-1234.cloud.databricks.com`; a bare host gets `https://`.
    pub host: Option<String>,
    /// A personal access token.
    pub token: Option<Secret>,
    /// The OAuth client id of a service principal, for machine-to-machine auth.
    pub client_id: Option<String>,
    /// The OAuth client secret that goes with `client_id`.
    pub client_secret: Option<Secret>,
    /// The `~/.databrickscfg` profile to read; else `DATABRICKS_CONFIG_PROFILE`, else `DEFAULT`.
    pub profile: Option<String>,
    /// The config file to read instead of `DATABRICKS_CONFIG_FILE` or `~/.databrickscfg`.
    pub config_file: Option<PathBuf>,
}

/// How requests authenticate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMethod {
    /// A personal access token, sent as a bearer token.
    Pat {
        /// The token.
        token: Secret,
    },
    /// OAuth machine-to-machine: client credentials exchanged at `{host}/oidc/v1/token` for `all-apis`.
    OAuthM2m {
        /// The service principal's OAuth client id.
        client_id: String,
        /// The OAuth client secret.
        client_secret: Secret,
    },
}

impl AuthMethod {
    /// `pat` or `oauth-m2m`, for messages; never the secret.
    pub fn name(&self) -> &'static str {
        match self {
            AuthMethod::Pat { .. } => "pat",
            AuthMethod::OAuthM2m { .. } => "oauth-m2m",
        }
    }
}

/// Resolved credentials: a workspace URL and a method, with where each came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `https://…` without a trailing slash.
    pub host: String,
    /// How requests authenticate.
    pub method: AuthMethod,
    /// Where the host came from, e.g. ``environment `DATABRICKS_HOST` ``.
    pub host_source: String,
    /// Where the credential came from.
    pub method_source: String,
}

impl Credentials {
    /// Credentials for a personal access token, taken as given.
    pub fn pat(host: &str, token: impl Into<Secret>) -> Result<Credentials, AuthError> {
        Ok(Credentials {
            host: normalize_host(host)?,
            method: AuthMethod::Pat { token: token.into() },
            host_source: "explicit settings".to_owned(),
            method_source: "explicit settings".to_owned(),
        })
    }
}

/// Why credentials could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No source gave a token or client credentials.
    #[error("no databricks credentials found; tried: {}. Set `DATABRICKS_TOKEN`, or `DATABRICKS_CLIENT_ID` and `DATABRICKS_CLIENT_SECRET`, or a `token` in a `~/.databrickscfg` profile", tried.join("; "))]
    Missing {
        /// Each source tried, in order, with why it gave nothing.
        tried: Vec<String>,
    },
    /// Credentials were found, but no host.
    #[error("no databricks host found; tried: {}. Set `host` in `[databricks]`, `DATABRICKS_HOST`, or `host` in a `~/.databrickscfg` profile", tried.join("; "))]
    MissingHost {
        /// Each source tried, in order, with why it gave nothing.
        tried: Vec<String>,
    },
    /// Both a personal access token and OAuth client credentials were found.
    #[error("more than one databricks auth method configured: a personal access token ({pat_source}) and oauth client credentials ({m2m_source}); keep one")]
    Ambiguous {
        /// Where the token came from.
        pat_source: String,
        /// Where the client credentials came from.
        m2m_source: String,
    },
    /// Only one of the OAuth client id and secret was found.
    #[error("oauth client credentials are incomplete: `{missing}` is not set (`{present}` came from {source_name})")]
    IncompleteM2m {
        /// The field found: `client_id` or `client_secret`.
        present: &'static str,
        /// The field missing.
        missing: &'static str,
        /// Where the present field came from.
        source_name: String,
    },
    /// The named profile is not in the config file.
    #[error("databricks profile `{profile}` not found in `{path}`")]
    ProfileNotFound {
        /// The profile asked for.
        profile: String,
        /// The config file's path.
        path: String,
    },
    /// A profile was named, and the config file does not exist.
    #[error("databricks config file `{path}` not found, but profile `{profile}` was requested")]
    ConfigFileNotFound {
        /// The profile asked for.
        profile: String,
        /// The config file's path.
        path: String,
    },
    /// The config file exists but cannot be read.
    #[error("cannot read databricks config file `{path}`: {detail}")]
    ConfigFileUnreadable {
        /// The config file's path.
        path: String,
        /// The I/O error.
        detail: String,
    },
    /// The config file is not valid INI.
    #[error("databricks config file `{path}` line {line}: {detail}")]
    ConfigFileSyntax {
        /// The config file's path.
        path: String,
        /// The 1-based line.
        line: usize,
        /// What is wrong on it.
        detail: String,
    },
    /// The host is not a valid URL.
    #[error("databricks host `{host}` is not a valid url: {detail}")]
    InvalidHost {
        /// The host as given.
        host: String,
        /// Why it is not a valid URL.
        detail: String,
    },
}

/// Where a value came from.
#[derive(Clone)]
struct Sourced<T> {
    value: T,
    source: String,
}

impl<T> fmt::Debug for Sourced<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

#[derive(Default)]
struct Fields {
    host: Option<Sourced<String>>,
    token: Option<Sourced<Secret>>,
    client_id: Option<Sourced<String>>,
    client_secret: Option<Sourced<Secret>>,
}

impl Fields {
    fn any_auth(&self) -> bool {
        self.token.is_some() || self.client_id.is_some() || self.client_secret.is_some()
    }

    fn fill(&mut self, lookup: impl Fn(&str) -> Option<(String, String)>) {
        fn set<T>(slot: &mut Option<Sourced<T>>, found: Option<(String, String)>, wrap: impl Fn(String) -> T) {
            if slot.is_none() {
                *slot = found.map(|(value, source)| Sourced { value: wrap(value), source });
            }
        }
        set(&mut self.host, lookup("host"), |v| v);
        set(&mut self.token, lookup("token"), Secret::new);
        set(&mut self.client_id, lookup("client_id"), |v| v);
        set(&mut self.client_secret, lookup("client_secret"), Secret::new);
    }
}

const ENV_NAMES: [(&str, &str); 4] = [
    ("host", "DATABRICKS_HOST"),
    ("token", "DATABRICKS_TOKEN"),
    ("client_id", "DATABRICKS_CLIENT_ID"),
    ("client_secret", "DATABRICKS_CLIENT_SECRET"),
];

/// Resolves settings, environment and config file into credentials.
pub fn resolve(settings: &AuthSettings, env: &dyn Fn(&str) -> Option<String>) -> Result<Credentials, AuthError> {
    let mut fields = Fields::default();
    let mut tried = Vec::new();
    let explicit = |value: Option<String>| value.map(|value| (value, "explicit settings".to_owned()));
    fields.fill(|key| match key {
        "host" => explicit(settings.host.clone()),
        "token" => explicit(settings.token.as_ref().map(|s| s.expose().to_owned())),
        "client_id" => explicit(settings.client_id.clone()),
        "client_secret" => explicit(settings.client_secret.as_ref().map(|s| s.expose().to_owned())),
        _ => None,
    });
    tried.push("explicit settings".to_owned());

    fields.fill(|key| {
        let (_, name) = ENV_NAMES.iter().find(|(field, _)| *field == key)?;
        let value = env(name).filter(|v| !v.is_empty())?;
        Some((value, format!("environment `{name}`")))
    });
    tried.push(format!(
        "environment ({})",
        ENV_NAMES.iter().map(|(_, name)| format!("`{name}`")).collect::<Vec<_>>().join(", ")
    ));

    let profile = settings
        .profile
        .clone()
        .map(|p| (p, "explicit settings"))
        .or_else(|| env("DATABRICKS_CONFIG_PROFILE").filter(|p| !p.is_empty()).map(|p| (p, "environment")));
    let path = match settings.config_file.clone().or_else(|| env("DATABRICKS_CONFIG_FILE").map(PathBuf::from)) {
        Some(path) => Some(path),
        None => env("HOME").or_else(|| env("USERPROFILE")).map(|home| PathBuf::from(home).join(".databrickscfg")),
    };

    if profile.is_none() && (fields.any_auth() || fields.host.is_some()) {
        tried.push("config file (skipped: host or credentials already set and no profile named)".to_owned());
    } else if let Some(path) = path {
        load_profile(&path, profile.as_ref().map(|(p, _)| p.as_str()), &mut fields, &mut tried)?;
    } else {
        tried.push("config file (no `HOME` to find `~/.databrickscfg`)".to_owned());
    }

    let method = match (fields.token, fields.client_id, fields.client_secret) {
        (Some(token), None, None) => (AuthMethod::Pat { token: token.value }, token.source),
        (None, Some(id), Some(secret)) => {
            let source = if id.source == secret.source {
                id.source.clone()
            } else {
                format!("{} and {}", id.source, secret.source)
            };
            (AuthMethod::OAuthM2m { client_id: id.value, client_secret: secret.value }, source)
        }
        (Some(token), id, secret) if id.is_some() || secret.is_some() => {
            let m2m_source = id.or(secret.map(|s| Sourced { value: String::new(), source: s.source }));
            return Err(AuthError::Ambiguous {
                pat_source: token.source,
                m2m_source: m2m_source.map(|s| s.source).unwrap_or_default(),
            });
        }
        (None, Some(id), None) => {
            return Err(AuthError::IncompleteM2m {
                present: "client_id",
                missing: "client_secret",
                source_name: id.source,
            })
        }
        (None, None, Some(secret)) => {
            return Err(AuthError::IncompleteM2m {
                present: "client_secret",
                missing: "client_id",
                source_name: secret.source,
            })
        }
        _ => return Err(AuthError::Missing { tried }),
    };
    let Some(host) = fields.host else {
        return Err(AuthError::MissingHost { tried });
    };
    Ok(Credentials {
        host: normalize_host(&host.value)?,
        method: method.0,
        host_source: host.source,
        method_source: method.1,
    })
}

fn load_profile(
    path: &std::path::Path,
    profile: Option<&str>,
    fields: &mut Fields,
    tried: &mut Vec<String>,
) -> Result<(), AuthError> {
    let shown = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            if let Some(profile) = profile {
                return Err(AuthError::ConfigFileNotFound { profile: profile.to_owned(), path: shown });
            }
            tried.push(format!("config file `{shown}` (not found)"));
            return Ok(());
        }
        Err(err) => return Err(AuthError::ConfigFileUnreadable { path: shown, detail: err.to_string() }),
    };
    let sections =
        parse_ini(&text).map_err(|(line, detail)| AuthError::ConfigFileSyntax { path: shown.clone(), line, detail })?;
    let name = profile.unwrap_or("DEFAULT");
    let Some(section) = sections.get(name) else {
        if profile.is_some() {
            return Err(AuthError::ProfileNotFound { profile: name.to_owned(), path: shown });
        }
        tried.push(format!("config file `{shown}` (no `[DEFAULT]` profile)"));
        return Ok(());
    };
    let source = format!("config file `{shown}` profile `{name}`");
    fields.fill(|key| section.get(key).filter(|v| !v.is_empty()).map(|v| (v.clone(), source.clone())));
    tried.push(source);
    Ok(())
}

/// Parses the INI dialect of `~/.databrickscfg`: `[section]` headers, `key = value` (or `key: value`) lines, `#` and
/// `;` comment lines. Keys are lowercased, as Python's configparser does. Errors give the line number and never the
/// line's text, which may hold a secret.
pub(crate) fn parse_ini(text: &str) -> Result<BTreeMap<String, BTreeMap<String, String>>, (usize, String)> {
    let mut sections: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            let Some(name) = rest.strip_suffix(']') else {
                return Err((line_no, "section header has no closing `]`".to_owned()));
            };
            let name = name.trim().to_owned();
            sections.entry(name.clone()).or_default();
            current = Some(name);
            continue;
        }
        let Some(split) = line.find(['=', ':']) else {
            return Err((line_no, "expected `key = value`".to_owned()));
        };
        let Some(section) = &current else {
            return Err((line_no, "a key before any `[section]` header".to_owned()));
        };
        let key = line[..split].trim().to_ascii_lowercase();
        let value = line[split + 1..].trim().to_owned();
        if key.is_empty() {
            return Err((line_no, "empty key".to_owned()));
        }
        sections.entry(section.clone()).or_default().insert(key, value);
    }
    Ok(sections)
}

/// `dbc-1.cloud.databricks.com/` → `https://dbc-1.cloud.databricks.com`.
pub(crate) fn normalize_host(host: &str) -> Result<String, AuthError> {
    let trimmed = host.trim().trim_end_matches('/');
    let with_scheme = if trimmed.contains("://") { trimmed.to_owned() } else { format!("https://{trimmed}") };
    let parsed = url::Url::parse(&with_scheme)
        .map_err(|err| AuthError::InvalidHost { host: host.to_owned(), detail: err.to_string() })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(AuthError::InvalidHost { host: host.to_owned(), detail: "expected an http(s) url".to_owned() });
    }
    Ok(with_scheme)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn settings() -> AuthSettings {
        AuthSettings::default()
    }

    /// Resolves and renders the outcome on one line: `host method source` or the error.
    fn render(settings: &AuthSettings, env: &[(&str, &str)]) -> String {
        let env = fixed_env(env.iter().copied());
        match resolve(settings, env.as_ref()) {
            Ok(c) => {
                let method = match &c.method {
                    AuthMethod::Pat { token } => format!("pat {}", token.expose()),
                    AuthMethod::OAuthM2m { client_id, client_secret } => {
                        format!("m2m {client_id}/{}", client_secret.expose())
                    }
                };
                format!("{} [{}] {method} [{}]", c.host, c.host_source, c.method_source)
            }
            Err(err) => format!("error: {err}"),
        }
    }

    #[track_caller]
    fn check(settings: &AuthSettings, env: &[(&str, &str)], expect: &str) {
        assert_eq!(render(settings, env), expect);
    }

    fn config_file(text: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(text.as_bytes()).unwrap();
        file
    }

    #[test]
    fn explicit_then_env() {
        let explicit =
            AuthSettings { host: Some("dbc-1.cloud.databricks.com/".into()), token: Some("t1".into()), ..settings() };
        check(
            &explicit,
            &[("DATABRICKS_TOKEN", "t2")],
            "https://dbc-1.cloud.databricks.com [explicit settings] pat t1 [explicit settings]",
        );
        check(
            &settings(),
            &[("DATABRICKS_HOST", "https://h.example"), ("DATABRICKS_TOKEN", "t2")],
            "https://h.example [environment `DATABRICKS_HOST`] pat t2 [environment `DATABRICKS_TOKEN`]",
        );
        let host_only = AuthSettings { host: Some("https://h.example".into()), ..settings() };
        check(
            &host_only,
            &[("DATABRICKS_TOKEN", "t2")],
            "https://h.example [explicit settings] pat t2 [environment `DATABRICKS_TOKEN`]",
        );
        check(
            &settings(),
            &[("DATABRICKS_HOST", "h.example"), ("DATABRICKS_CLIENT_ID", "id"), ("DATABRICKS_CLIENT_SECRET", "s")],
            "https://h.example [environment `DATABRICKS_HOST`] m2m id/s [environment `DATABRICKS_CLIENT_ID` and environment `DATABRICKS_CLIENT_SECRET`]",
        );
    }

    #[test]
    fn config_file_profiles() {
        let file = config_file(
            "; comment\n[DEFAULT]\nhost = https://default.example\ntoken = dapi-default\n\n[prod]\nHost: https://prod.example\nclient_id = sp\nclient_secret = sp-secret\n\n[both]\nhost = https://b.example\ntoken = t\nclient_id = c\nclient_secret = s\n",
        );
        let path = file.path().display().to_string();
        let with_file = |profile: Option<&str>| AuthSettings {
            config_file: Some(file.path().to_owned()),
            profile: profile.map(str::to_owned),
            ..settings()
        };
        check(&with_file(None), &[], &format!("https://default.example [config file `{path}` profile `DEFAULT`] pat dapi-default [config file `{path}` profile `DEFAULT`]"));
        check(&with_file(Some("prod")), &[], &format!("https://prod.example [config file `{path}` profile `prod`] m2m sp/sp-secret [config file `{path}` profile `prod`]"));
        check(&settings(), &[("DATABRICKS_CONFIG_FILE", &path), ("DATABRICKS_CONFIG_PROFILE", "prod")], &format!("https://prod.example [config file `{path}` profile `prod`] m2m sp/sp-secret [config file `{path}` profile `prod`]"));
        // The environment wins over the profile, field by field.
        check(&with_file(Some("prod")), &[("DATABRICKS_HOST", "https://env.example")], &format!("https://env.example [environment `DATABRICKS_HOST`] m2m sp/sp-secret [config file `{path}` profile `prod`]"));
        check(&with_file(Some("both")), &[], &format!("error: more than one databricks auth method configured: a personal access token (config file `{path}` profile `both`) and oauth client credentials (config file `{path}` profile `both`); keep one"));
        check(&with_file(Some("nope")), &[], &format!("error: databricks profile `nope` not found in `{path}`"));
        // HOME locates ~/.databrickscfg.
        let home = tempfile::tempdir().unwrap();
        std::fs::write(home.path().join(".databrickscfg"), "[DEFAULT]\nhost = home.example\ntoken = from-home\n")
            .unwrap();
        let home_path = home.path().join(".databrickscfg").display().to_string();
        check(&settings(), &[("HOME", home.path().to_str().unwrap())], &format!("https://home.example [config file `{home_path}` profile `DEFAULT`] pat from-home [config file `{home_path}` profile `DEFAULT`]"));
    }

    #[test]
    fn errors_name_the_sources_tried() {
        let home = tempfile::tempdir().unwrap();
        let home_str = home.path().to_str().unwrap();
        let cfg = home.path().join(".databrickscfg").display().to_string();
        let env_list =
            "environment (`DATABRICKS_HOST`, `DATABRICKS_TOKEN`, `DATABRICKS_CLIENT_ID`, `DATABRICKS_CLIENT_SECRET`)";
        check(&settings(), &[("HOME", home_str)], &format!("error: no databricks credentials found; tried: explicit settings; {env_list}; config file `{cfg}` (not found). Set `DATABRICKS_TOKEN`, or `DATABRICKS_CLIENT_ID` and `DATABRICKS_CLIENT_SECRET`, or a `token` in a `~/.databrickscfg` profile"));
        check(&settings(), &[("DATABRICKS_TOKEN", "t")], &format!("error: no databricks host found; tried: explicit settings; {env_list}; config file (skipped: host or credentials already set and no profile named). Set `host` in `[databricks]`, `DATABRICKS_HOST`, or `host` in a `~/.databrickscfg` profile"));
        check(&settings(), &[("DATABRICKS_HOST", "h"), ("DATABRICKS_TOKEN", "t"), ("DATABRICKS_CLIENT_ID", "c"), ("DATABRICKS_CLIENT_SECRET", "s")], "error: more than one databricks auth method configured: a personal access token (environment `DATABRICKS_TOKEN`) and oauth client credentials (environment `DATABRICKS_CLIENT_ID`); keep one");
        check(&settings(), &[("DATABRICKS_HOST", "h"), ("DATABRICKS_CLIENT_ID", "c")], "error: oauth client credentials are incomplete: `client_secret` is not set (`client_id` came from environment `DATABRICKS_CLIENT_ID`)");
        let profile = AuthSettings { profile: Some("x".into()), ..settings() };
        check(
            &profile,
            &[("HOME", home_str)],
            &format!("error: databricks config file `{cfg}` not found, but profile `x` was requested"),
        );
        check(
            &AuthSettings { host: Some("ftp://x".into()), token: Some("t".into()), ..settings() },
            &[],
            "error: databricks host `ftp://x` is not a valid url: expected an http(s) url",
        );
    }

    #[test]
    fn ini_errors_hide_line_text() {
        let file = config_file("[DEFAULT]\ndapi-secret-without-equals\n");
        let err = render(&AuthSettings { config_file: Some(file.path().to_owned()), ..settings() }, &[]);
        assert!(err.ends_with("line 2: expected `key = value`"), "{err}");
        assert!(!err.contains("dapi-secret"), "{err}");
        assert_eq!(parse_ini("key = v").unwrap_err(), (1, "a key before any `[section]` header".to_owned()));
        assert_eq!(parse_ini("[a\n").unwrap_err(), (1, "section header has no closing `]`".to_owned()));
    }
}
