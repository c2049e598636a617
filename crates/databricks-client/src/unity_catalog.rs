//! Unity Catalog: storage credentials, external locations, their validation and the grants on
//! external locations (`/api/2.1/unity-catalog/*`), typed as databricks-sdk-go's `service/catalog`.

use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::error::{ApiError, Error};

const CREDENTIALS: &str = "/api/2.1/unity-catalog/storage-credentials";
const LOCATIONS: &str = "/api/2.1/unity-catalog/external-locations";
const VALIDATE: &str = "/api/2.1/unity-catalog/validate-storage-credentials";
const PERMISSIONS: &str = "/api/2.1/unity-catalog/permissions/external_location";

/// The IAM role of a storage credential, as the API returns it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwsIamRole {
    /// The role Unity Catalog assumes.
    pub role_arn: String,
    /// The external ID the role's trust must require: the Databricks account ID when an account
    /// admin made the credential, otherwise a random value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Unity Catalog's master role, which assumes `role_arn`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unity_catalog_iam_arn: Option<String>,
}

/// The IAM role of a credential in a request: only its ARN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AwsIamRoleRequest {
    /// The role Unity Catalog assumes.
    pub role_arn: String,
}

/// A storage credential (`StorageCredentialInfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageCredential {
    /// Its name, unique in the metastore.
    pub name: String,
    /// The IAM role, for an AWS credential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_iam_role: Option<AwsIamRole>,
    /// Its id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Its full name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
    /// Its owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Whether it may only read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    /// A free-form comment; xacct marks its own credentials here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Creation time, in epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<i64>,
    /// Who created it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// Last update time, in epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<i64>,
    /// Who last updated it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
}

impl StorageCredential {
    /// The external ID the role's trust must require, once Databricks has assigned one.
    pub fn external_id(&self) -> Option<&str> {
        self.aws_iam_role.as_ref().and_then(|r| r.external_id.as_deref())
    }
    /// The role the credential names.
    pub fn role_arn(&self) -> Option<&str> {
        self.aws_iam_role.as_ref().map(|r| r.role_arn.as_str())
    }
}

/// The body of `POST …/storage-credentials`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreateStorageCredential {
    /// The name.
    pub name: String,
    /// The role.
    pub aws_iam_role: AwsIamRoleRequest,
    /// A comment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Whether it may only read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    /// Skips Databricks' check that it can assume the role: needed on create, since the trust
    /// cannot name the external ID before Databricks returns it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_validation: Option<bool>,
}

/// The body of `PATCH …/storage-credentials/{name}`; unset fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UpdateStorageCredential {
    /// A new role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws_iam_role: Option<AwsIamRoleRequest>,
    /// A new comment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// A new read-only flag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    /// Skips validation of the new settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_validation: Option<bool>,
    /// Updates even when dependent external locations exist.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub force: Option<bool>,
    /// A new name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_name: Option<String>,
    /// A new owner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

/// Server-side encryption of an external location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptionDetails {
    /// The SSE settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sse_encryption_details: Option<SseEncryptionDetails>,
}

/// `sse_encryption_details`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SseEncryptionDetails {
    /// `AWS_SSE_S3` or `AWS_SSE_KMS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
    /// The key, for `AWS_SSE_KMS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_kms_key_arn: Option<String>,
}

impl EncryptionDetails {
    /// SSE-KMS with this key.
    pub fn kms(key_arn: &str) -> EncryptionDetails {
        EncryptionDetails {
            sse_encryption_details: Some(SseEncryptionDetails {
                algorithm: Some("AWS_SSE_KMS".to_owned()),
                aws_kms_key_arn: Some(key_arn.to_owned()),
            }),
        }
    }
}

/// An external location (`ExternalLocationInfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalLocation {
    /// Its name.
    pub name: String,
    /// `s3://<bucket>/<prefix>`.
    #[serde(default)]
    pub url: String,
    /// The storage credential it uses.
    #[serde(default)]
    pub credential_name: String,
    /// A comment; xacct marks its own locations here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Whether it may only read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    /// Its owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Server-side encryption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_details: Option<EncryptionDetails>,
}

/// The body of `POST …/external-locations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreateExternalLocation {
    /// The name.
    pub name: String,
    /// `s3://<bucket>/<prefix>`.
    pub url: String,
    /// The storage credential.
    pub credential_name: String,
    /// A comment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Whether it may only read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    /// Skips Databricks' check of the location.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_validation: Option<bool>,
    /// Server-side encryption.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_details: Option<EncryptionDetails>,
}

/// The body of `PATCH …/external-locations/{name}`; unset fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UpdateExternalLocation {
    /// A new URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// A new storage credential.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_name: Option<String>,
    /// A new comment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// A new read-only flag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    /// Skips validation of the new settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_validation: Option<bool>,
    /// Updates even when it has dependents.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub force: Option<bool>,
    /// New server-side encryption.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_details: Option<EncryptionDetails>,
}

/// The body of `POST …/validate-storage-credentials`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ValidateStorageCredential {
    /// The credential to validate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_credential_name: Option<String>,
    /// The URL to validate against.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Or an existing location.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_location_name: Option<String>,
    /// Validates only the read operations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}

/// The answer of a validation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validation {
    /// Whether the URL is a directory (camelCase in the API).
    #[serde(rename = "isDir", default, skip_serializing_if = "Option::is_none")]
    pub is_dir: Option<bool>,
    /// One result per operation.
    #[serde(default)]
    pub results: Vec<ValidationResult>,
}

/// The result of one operation of a validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationResult {
    /// `READ`, `WRITE`, `LIST`, `DELETE` or `PATH_EXISTS`.
    #[serde(default)]
    pub operation: String,
    /// `PASS`, `FAIL` or `SKIP`.
    #[serde(default)]
    pub result: String,
    /// Why, when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl Validation {
    /// The results that failed.
    pub fn failures(&self) -> Vec<&ValidationResult> {
        self.results.iter().filter(|r| r.result == "FAIL").collect()
    }
}

/// The privileges of one principal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivilegeAssignment {
    /// A user, group or service principal.
    pub principal: String,
    /// Its privileges, such as `READ_FILES`.
    #[serde(default)]
    pub privileges: Vec<String>,
}

/// One change of `PATCH …/permissions/…`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PermissionsChange {
    /// The principal.
    pub principal: String,
    /// Privileges to grant.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub add: Vec<String>,
    /// Privileges to revoke.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remove: Vec<String>,
}

#[derive(Serialize)]
struct UpdatePermissions<'a> {
    changes: &'a [PermissionsChange],
}

#[derive(Deserialize)]
struct Permissions {
    #[serde(default)]
    privilege_assignments: Vec<PrivilegeAssignment>,
}

#[derive(Deserialize)]
struct CredentialPage {
    #[serde(default)]
    storage_credentials: Vec<StorageCredential>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct LocationPage {
    #[serde(default)]
    external_locations: Vec<ExternalLocation>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct Empty {}

/// A name as one path segment: every byte outside the unreserved set percent-encoded.
fn segment(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn not_found_is_none<T>(result: Result<T, Error>) -> Result<Option<T>, Error> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(Error::Api { source, .. }) if source.is_not_found() || is_uc_not_found(&source) => Ok(None),
        Err(err) => Err(err),
    }
}

fn is_uc_not_found(error: &ApiError) -> bool {
    error.error_code.as_deref().is_some_and(|c| c.ends_with("_DOES_NOT_EXIST"))
}

impl Client {
    /// The storage credential of this name, or `None`.
    pub async fn get_storage_credential(&self, name: &str) -> Result<Option<StorageCredential>, Error> {
        not_found_is_none(self.get(&format!("{CREDENTIALS}/{}", segment(name)), &[]).await)
    }

    /// Creates a storage credential; the answer holds the external ID Databricks assigned.
    pub async fn create_storage_credential(
        &self,
        request: &CreateStorageCredential,
    ) -> Result<StorageCredential, Error> {
        self.post(CREDENTIALS, request).await
    }

    /// Updates a storage credential.
    pub async fn update_storage_credential(
        &self,
        name: &str,
        request: &UpdateStorageCredential,
    ) -> Result<StorageCredential, Error> {
        self.patch(&format!("{CREDENTIALS}/{}", segment(name)), request).await
    }

    /// Deletes a storage credential; `force` deletes it even with dependent locations. A
    /// credential that is already gone is not an error.
    pub async fn delete_storage_credential(&self, name: &str, force: bool) -> Result<(), Error> {
        let query: &[(&str, &str)] = if force { &[("force", "true")] } else { &[] };
        not_found_is_none(self.delete::<Empty>(&format!("{CREDENTIALS}/{}", segment(name)), query).await).map(drop)
    }

    /// Every storage credential of the metastore, all pages.
    pub async fn list_storage_credentials(&self) -> Result<Vec<StorageCredential>, Error> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut query = vec![("max_results", "0")];
            if let Some(t) = &token {
                query.push(("page_token", t.as_str()));
            }
            let page: CredentialPage = self.get(CREDENTIALS, &query).await?;
            out.extend(page.storage_credentials);
            match page.next_page_token.filter(|t| !t.is_empty()) {
                Some(next) => token = Some(next),
                None => return Ok(out),
            }
        }
    }

    /// The external location of this name, or `None`.
    pub async fn get_external_location(&self, name: &str) -> Result<Option<ExternalLocation>, Error> {
        not_found_is_none(self.get(&format!("{LOCATIONS}/{}", segment(name)), &[]).await)
    }

    /// Creates an external location.
    pub async fn create_external_location(&self, request: &CreateExternalLocation) -> Result<ExternalLocation, Error> {
        self.post(LOCATIONS, request).await
    }

    /// Updates an external location.
    pub async fn update_external_location(
        &self,
        name: &str,
        request: &UpdateExternalLocation,
    ) -> Result<ExternalLocation, Error> {
        self.patch(&format!("{LOCATIONS}/{}", segment(name)), request).await
    }

    /// Deletes an external location; one that is already gone is not an error.
    pub async fn delete_external_location(&self, name: &str, force: bool) -> Result<(), Error> {
        let query: &[(&str, &str)] = if force { &[("force", "true")] } else { &[] };
        not_found_is_none(self.delete::<Empty>(&format!("{LOCATIONS}/{}", segment(name)), query).await).map(drop)
    }

    /// Every external location of the metastore, all pages.
    pub async fn list_external_locations(&self) -> Result<Vec<ExternalLocation>, Error> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut query = vec![("max_results", "0")];
            if let Some(t) = &token {
                query.push(("page_token", t.as_str()));
            }
            let page: LocationPage = self.get(LOCATIONS, &query).await?;
            out.extend(page.external_locations);
            match page.next_page_token.filter(|t| !t.is_empty()) {
                Some(next) => token = Some(next),
                None => return Ok(out),
            }
        }
    }

    /// Asks Unity Catalog whether a credential reaches a URL, once.
    pub async fn validate_storage_credential(&self, request: &ValidateStorageCredential) -> Result<Validation, Error> {
        self.post(VALIDATE, request).await
    }

    /// Validates until no operation fails, for at most
    /// [`ClientOptions::iam_lag_attempts`](crate::ClientOptions::iam_lag_attempts) attempts with
    /// the same doubling backoff as the instance-profile lag: the first validation after the
    /// role's trust changes fails while IAM propagates. Returns the last answer and the number of
    /// attempts; the caller decides what a failure that outlasts the bound means.
    pub async fn validate_until_pass(&self, request: &ValidateStorageCredential) -> Result<(Validation, u32), Error> {
        let options = self.options();
        let mut backoff = options.iam_lag_initial_backoff;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let validation = self.validate_storage_credential(request).await?;
            if validation.failures().is_empty() || attempt >= options.iam_lag_attempts.max(1) {
                return Ok((validation, attempt));
            }
            tracing::info!(
                credential = request.storage_credential_name.as_deref().unwrap_or(""),
                attempt,
                backoff_secs = backoff.as_secs_f64(),
                "the storage credential does not validate yet (IAM propagation); retrying"
            );
            self.clock().sleep(backoff).await;
            backoff = (backoff * 2).min(options.iam_lag_max_backoff.max(std::time::Duration::from_millis(1)));
        }
    }

    /// The grants on an external location.
    pub async fn get_location_grants(&self, location: &str) -> Result<Vec<PrivilegeAssignment>, Error> {
        let permissions: Permissions = self.get(&format!("{PERMISSIONS}/{}", segment(location)), &[]).await?;
        Ok(permissions.privilege_assignments)
    }

    /// Grants and revokes privileges on an external location; returns the grants after.
    pub async fn update_location_grants(
        &self,
        location: &str,
        changes: &[PermissionsChange],
    ) -> Result<Vec<PrivilegeAssignment>, Error> {
        let permissions: Permissions =
            self.patch(&format!("{PERMISSIONS}/{}", segment(location)), &UpdatePermissions { changes }).await?;
        Ok(permissions.privilege_assignments)
    }
}

/// The changes that add every privilege of `wanted` that `current` lacks; nothing is revoked.
/// Empty when every wanted privilege is held.
pub fn missing_grants(current: &[PrivilegeAssignment], wanted: &[PrivilegeAssignment]) -> Vec<PermissionsChange> {
    wanted
        .iter()
        .filter_map(|want| {
            let held = current.iter().find(|c| c.principal == want.principal);
            let add: Vec<String> =
                want.privileges.iter().filter(|p| !held.is_some_and(|h| h.privileges.contains(p))).cloned().collect();
            (!add.is_empty()).then(|| PermissionsChange { principal: want.principal.clone(), add, remove: Vec::new() })
        })
        .collect()
}

/// The changes that revoke every privilege of `granted` that `current` still holds.
pub fn revoke_grants(current: &[PrivilegeAssignment], granted: &[PrivilegeAssignment]) -> Vec<PermissionsChange> {
    granted
        .iter()
        .filter_map(|g| {
            let held = current.iter().find(|c| c.principal == g.principal)?;
            let remove: Vec<String> = g.privileges.iter().filter(|p| held.privileges.contains(p)).cloned().collect();
            (!remove.is_empty()).then(|| PermissionsChange { principal: g.principal.clone(), add: Vec::new(), remove })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assignment(principal: &str, privileges: &[&str]) -> PrivilegeAssignment {
        PrivilegeAssignment {
            principal: principal.to_owned(),
            privileges: privileges.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    #[track_caller]
    fn check(current: &[PrivilegeAssignment], wanted: &[PrivilegeAssignment], expect: &str) {
        let got = serde_json::to_string(&missing_grants(current, wanted)).unwrap();
        assert_eq!(got, expect);
    }

    #[test]
    fn only_missing_privileges_are_added() {
        let wanted = [assignment("eng", &["READ_FILES", "WRITE_FILES"])];
        check(&[], &wanted, r#"[{"principal":"eng","add":["READ_FILES","WRITE_FILES"]}]"#);
        check(&[assignment("eng", &["READ_FILES"])], &wanted, r#"[{"principal":"eng","add":["WRITE_FILES"]}]"#);
        check(&[assignment("eng", &["WRITE_FILES", "READ_FILES", "BROWSE"])], &wanted, "[]");
        let revoke = revoke_grants(&[assignment("eng", &["READ_FILES", "BROWSE"])], &wanted);
        assert_eq!(serde_json::to_string(&revoke).unwrap(), r#"[{"principal":"eng","remove":["READ_FILES"]}]"#);
    }

    #[test]
    fn names_are_one_path_segment() {
        assert_eq!(segment("lake_333"), "lake_333");
        assert_eq!(segment("a b/c"), "a%20b%2Fc");
    }

    #[test]
    fn validation_reads_camel_case_is_dir() {
        let v: Validation = serde_json::from_str(
            r#"{"isDir": true, "results": [{"operation": "READ", "result": "FAIL", "message": "no"}, {"operation": "LIST", "result": "PASS"}]}"#,
        )
        .unwrap();
        assert_eq!(v.is_dir, Some(true));
        assert_eq!(v.failures().len(), 1);
    }
}
