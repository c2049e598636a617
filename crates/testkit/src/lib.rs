//! Test harness for xacct: the AWS emulator (moto or LocalStack) as a child process, account
//! bootstrap through plain AWS profiles, and (in [`databricks`]) a stateful
//! Databricks stand-in, and (in [`proxy`]) a fault proxy to put in front of either.
//!
//! **Architecture Invariant:** only tests and `xtask demo` use this crate.

#[cfg(feature = "containers")]
pub mod containers;
pub mod databricks;
mod emulator;
pub mod fixtures;
pub mod proxy;
mod venv;

pub use emulator::{Backend, Detached, Emulator, Profiles};
pub use venv::{ensure_venv, venv_python, workspace_root};

/// What went wrong while setting up the test environment.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("could not {what}: {source}")]
    Io { what: String, source: std::io::Error },
    #[error("the emulator did not become ready: {0}")]
    NotReady(String),
    #[error("could not bootstrap account `{account}`: {message}")]
    Bootstrap { account: String, message: String },
    #[error("could not install the emulator venv: {0}")]
    Venv(String),
    #[error("`XACCT_EMULATOR` is `{0}`: expected `moto` or `localstack`")]
    UnknownEmulator(String),
    #[error("{what} exists only in moto, and the emulator is {backend}")]
    MotoOnly { what: &'static str, backend: &'static str },
}

pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let what = what.into();
    move |source| Error::Io { what, source }
}
