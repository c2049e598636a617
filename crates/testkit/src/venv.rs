//! The repo's Python venv, which holds the pinned emulator and the second clients.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Error;

/// The workspace root, fixed at compile time.
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().and_then(Path::parent).unwrap_or(manifest).to_path_buf()
}

fn venv_dir() -> PathBuf {
    std::env::var_os("XACCT_VENV").map(PathBuf::from).unwrap_or_else(|| workspace_root().join(".venv"))
}

/// `<venv>/bin/python`.
pub fn venv_python() -> PathBuf {
    venv_dir().join("bin/python")
}

/// Creates the venv and installs `tools/requirements.txt` into it unless every
/// pinned package is already there. Returns true when it installed anything.
pub fn ensure_venv() -> Result<bool, Error> {
    let dir = venv_dir();
    let requirements = workspace_root().join("tools/requirements.txt");
    let stamp = dir.join(".xacct-requirements");
    let wanted = std::fs::read_to_string(&requirements).map_err(crate::io("read tools/requirements.txt"))?;
    if std::fs::read_to_string(&stamp).is_ok_and(|have| have == wanted) && venv_python().exists() {
        return Ok(false);
    }
    if !venv_python().exists() {
        let python = std::env::var("XACCT_PYTHON").unwrap_or_else(|_| "python3".to_owned());
        run(Command::new(&python).arg("-m").arg("venv").arg(&dir), "create the venv")?;
    }
    run(
        Command::new(venv_python())
            .args(["-m", "pip", "install", "--disable-pip-version-check", "-q", "-r"])
            .arg(&requirements),
        "pip install -r tools/requirements.txt",
    )?;
    std::fs::write(&stamp, wanted).map_err(crate::io("write the venv stamp"))?;
    Ok(true)
}

fn run(cmd: &mut Command, what: &str) -> Result<(), Error> {
    let out = cmd.output().map_err(|e| Error::Venv(format!("{what}: {e}")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::Venv(format!("{what} failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr).trim())))
    }
}
