//! The repo's Python venvs: `.venv` holds the pinned moto and the second
//! clients, `.venv-localstack` the pinned LocalStack (which needs Python 3.13).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Error;

/// The workspace root, fixed at compile time.
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().and_then(Path::parent).unwrap_or(manifest).to_path_buf()
}

/// One pinned venv: where it lives, what it installs, which Python creates it.
pub(crate) struct Venv {
    /// Overrides the directory.
    dir_env: &'static str,
    default_dir: &'static str,
    requirements: &'static str,
    /// Overrides the interpreter that creates the venv.
    python_env: &'static str,
    default_python: &'static str,
    /// Extra environment for that interpreter (pyenv serves 3.13 only when selected).
    python_vars: &'static [(&'static str, &'static str)],
}

pub(crate) const MOTO: Venv = Venv {
    dir_env: "XACCT_VENV",
    default_dir: ".venv",
    requirements: "tools/requirements.txt",
    python_env: "XACCT_PYTHON",
    default_python: "python3",
    python_vars: &[],
};

pub(crate) const LOCALSTACK: Venv = Venv {
    dir_env: "XACCT_LOCALSTACK_VENV",
    default_dir: ".venv-localstack",
    requirements: "tools/requirements-localstack.txt",
    python_env: "XACCT_LOCALSTACK_PYTHON",
    default_python: "python3.13",
    python_vars: &[("PYENV_VERSION", "3.13.0")],
};

impl Venv {
    fn dir(&self) -> PathBuf {
        std::env::var_os(self.dir_env).map(PathBuf::from).unwrap_or_else(|| workspace_root().join(self.default_dir))
    }

    /// `<venv>/bin/python`.
    pub(crate) fn python(&self) -> PathBuf {
        self.dir().join("bin/python")
    }

    /// Creates the venv and installs its requirements unless every pinned
    /// package is already there. Returns true when it installed anything.
    pub(crate) fn ensure(&self) -> Result<bool, Error> {
        let dir = self.dir();
        let requirements = workspace_root().join(self.requirements);
        let stamp = dir.join(".xacct-requirements");
        let wanted =
            std::fs::read_to_string(&requirements).map_err(crate::io(format!("read {}", self.requirements)))?;
        if std::fs::read_to_string(&stamp).is_ok_and(|have| have == wanted) && self.python().exists() {
            return Ok(false);
        }
        if !self.python().exists() {
            let python = std::env::var(self.python_env).unwrap_or_else(|_| self.default_python.to_owned());
            let mut create = Command::new(&python);
            create.arg("-m").arg("venv").arg(&dir).envs(self.python_vars.iter().copied());
            run(&mut create, &format!("create {} with `{python}`", dir.display()))?;
        }
        run(
            Command::new(self.python())
                .args(["-m", "pip", "install", "--disable-pip-version-check", "-q", "-r"])
                .arg(&requirements),
            &format!("pip install -r {}", self.requirements),
        )?;
        std::fs::write(&stamp, wanted).map_err(crate::io("write the venv stamp"))?;
        Ok(true)
    }
}

/// `<venv>/bin/python` of the moto venv.
pub fn venv_python() -> PathBuf {
    MOTO.python()
}

/// Creates the moto venv and installs `tools/requirements.txt` into it unless every
/// pinned package is already there. Returns true when it installed anything.
pub fn ensure_venv() -> Result<bool, Error> {
    MOTO.ensure()
}

fn run(cmd: &mut Command, what: &str) -> Result<(), Error> {
    let out = cmd.output().map_err(|e| Error::Venv(format!("{what}: {e}")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::Venv(format!("{what} failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr).trim())))
    }
}
