//! `GET /api/2.0/dbfs/get-status`: whether a DBFS path, such as a mount point, exists.
//!
//! A read, so that `provision` can tell that a bucket is already mounted
//! without running a command on the cluster.

use serde::Deserialize;

use crate::client::Client;
use crate::error::Error;

/// A DBFS path as `get-status` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FileInfo {
    /// The absolute DBFS path, e.g. `/mnt/my-bucket`.
    pub path: String,
    /// Whether the path is a directory (a mount point is one).
    #[serde(default)]
    pub is_dir: bool,
    /// The size in bytes; 0 for a directory.
    #[serde(default)]
    pub file_size: i64,
}

impl Client {
    /// The status of `path`, or `None` when it does not exist (`RESOURCE_DOES_NOT_EXIST`).
    pub async fn dbfs_status(&self, path: &str) -> Result<Option<FileInfo>, Error> {
        match self.get::<FileInfo>("/api/2.0/dbfs/get-status", &[("path", path)]).await {
            Ok(info) => Ok(Some(info)),
            Err(Error::Api { source, .. }) if source.is_not_found() => Ok(None),
            Err(err) => Err(err),
        }
    }
}
