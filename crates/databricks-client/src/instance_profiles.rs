//! `/api/2.0/instance-profiles/*` and the idempotent `ensure_instance_profile`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::error::{ApiError, Error};
use crate::Outcome;

/// An instance profile as `list` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceProfile {
    /// The instance profile's ARN, `arn:aws:iam::<account>:instance-profile/<name>`.
    pub instance_profile_arn: String,
    /// The ARN of the role it holds, when registered with one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam_role_arn: Option<String>,
    /// Whether it is a meta instance profile (one that assumes other roles, for credential passthrough).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_meta_instance_profile: Option<bool>,
}

/// The body of `POST /api/2.0/instance-profiles/add`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AddInstanceProfile {
    /// The instance profile's ARN.
    pub instance_profile_arn: String,
    /// Needed when the role name differs from the instance profile name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iam_role_arn: Option<String>,
    /// Registers it as a meta instance profile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_meta_instance_profile: Option<bool>,
    /// Skips Databricks' ec2 dry run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_validation: Option<bool>,
}

#[derive(Serialize)]
struct EditInstanceProfile<'a> {
    instance_profile_arn: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    iam_role_arn: Option<&'a str>,
}

#[derive(Serialize)]
struct RemoveInstanceProfile<'a> {
    instance_profile_arn: &'a str,
}

#[derive(Deserialize)]
struct ListResponse {
    #[serde(default)]
    instance_profiles: Vec<InstanceProfile>,
}

#[derive(Deserialize)]
struct Empty {}

/// The text of the add failure that means ec2 does not see the instance profile yet.
const IAM_LAG: &str = "Invalid IAM Instance Profile ARN";

impl Client {
    /// Registers an instance profile. Retries, with bounded backoff, while ec2 does not see the profile yet, and turns
    /// an unauthorized dry run into [`Error::PassRoleDenied`].
    pub async fn add_instance_profile(&self, request: &AddInstanceProfile) -> Result<(), Error> {
        let options = self.options();
        let started = self.clock().now();
        let mut backoff = options.iam_lag_initial_backoff;
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.post::<Empty>("/api/2.0/instance-profiles/add", request).await {
                Ok(_) => return Ok(()),
                Err(Error::Api { source, .. }) if is_iam_lag(&source) => {
                    if attempt >= options.iam_lag_attempts.max(1) {
                        return Err(Error::InstanceProfileNotVisible {
                            instance_profile_arn: request.instance_profile_arn.clone(),
                            attempts: attempt,
                            waited: self.clock().now().saturating_duration_since(started),
                            last: source,
                        });
                    }
                    tracing::info!(
                        arn = %request.instance_profile_arn,
                        attempt,
                        backoff_secs = backoff.as_secs_f64(),
                        "ec2 does not see the instance profile yet; retrying"
                    );
                    self.clock().sleep(backoff).await;
                    backoff = (backoff * 2).min(options.iam_lag_max_backoff.max(Duration::from_millis(1)));
                }
                Err(Error::Api { source, .. }) if is_dry_run_denied(&source) => {
                    return Err(Error::PassRoleDenied {
                        instance_profile_arn: request.instance_profile_arn.clone(),
                        message: source.message,
                    })
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// Every instance profile registered in the workspace.
    pub async fn list_instance_profiles(&self) -> Result<Vec<InstanceProfile>, Error> {
        let response: ListResponse = self.get("/api/2.0/instance-profiles/list", &[]).await?;
        Ok(response.instance_profiles)
    }

    /// Sets (or, with `None`, clears) the role ARN of a registered instance profile.
    pub async fn edit_instance_profile(
        &self,
        instance_profile_arn: &str,
        iam_role_arn: Option<&str>,
    ) -> Result<(), Error> {
        let body = EditInstanceProfile { instance_profile_arn, iam_role_arn };
        self.post::<Empty>("/api/2.0/instance-profiles/edit", &body).await.map(drop)
    }

    /// Unregisters an instance profile from the workspace; the IAM instance profile stays.
    pub async fn remove_instance_profile(&self, instance_profile_arn: &str) -> Result<(), Error> {
        self.post::<Empty>("/api/2.0/instance-profiles/remove", &RemoveInstanceProfile { instance_profile_arn })
            .await
            .map(drop)
    }

    /// What [`Client::ensure_instance_profile`] would do, without writing.
    pub async fn plan_instance_profile(
        &self,
        instance_profile_arn: &str,
        iam_role_arn: &str,
    ) -> Result<Outcome, Error> {
        let wanted_role = role_arn_to_send(instance_profile_arn, iam_role_arn);
        let registered = self.list_instance_profiles().await?;
        Ok(match registered.iter().find(|p| p.instance_profile_arn == instance_profile_arn) {
            None => Outcome::Created,
            Some(found) => match wanted_role {
                Some(role) if found.iam_role_arn.as_deref() != Some(role) => Outcome::Updated {
                    changes: vec![format!(
                        "iam_role_arn: {} -> {role}",
                        found.iam_role_arn.as_deref().unwrap_or("(none)")
                    )],
                },
                _ => Outcome::Unchanged,
            },
        })
    }

    /// Registers the instance profile unless it already is. `iam_role_arn` is sent only when the role name differs
    /// from the instance profile name, as the API asks.
    pub async fn ensure_instance_profile(
        &self,
        instance_profile_arn: &str,
        iam_role_arn: &str,
    ) -> Result<Outcome, Error> {
        let outcome = self.plan_instance_profile(instance_profile_arn, iam_role_arn).await?;
        let role = role_arn_to_send(instance_profile_arn, iam_role_arn);
        match &outcome {
            Outcome::Unchanged => {}
            Outcome::Created => {
                let request = AddInstanceProfile {
                    instance_profile_arn: instance_profile_arn.to_owned(),
                    iam_role_arn: role.map(str::to_owned),
                    ..AddInstanceProfile::default()
                };
                match self.add_instance_profile(&request).await {
                    Ok(()) => {}
                    // An earlier attempt whose reply was lost, or someone else between our list and our add:
                    // done when it is registered as planned.
                    Err(Error::Api { source, .. }) if is_already_exists(&source) => {
                        let registered = self.list_instance_profiles().await?;
                        let found = registered.iter().find(|p| p.instance_profile_arn == instance_profile_arn);
                        match found {
                            Some(p) if role.is_none() || p.iam_role_arn.as_deref() == role => {
                                tracing::info!(arn = instance_profile_arn, "the instance profile is already registered");
                            }
                            _ => {
                                return Err(Error::Api {
                                    method: "POST",
                                    path: "/api/2.0/instance-profiles/add".to_owned(),
                                    source: ApiError {
                                        message: format!(
                                            "instance profile `{instance_profile_arn}` already exists but is not registered as planned ({})",
                                            source.message
                                        ),
                                        ..source
                                    },
                                })
                            }
                        }
                    }
                    Err(err) => return Err(err),
                }
            }
            Outcome::Updated { .. } => self.edit_instance_profile(instance_profile_arn, role).await?,
        }
        Ok(outcome)
    }
}

fn name_after_slash(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

fn role_arn_to_send<'a>(instance_profile_arn: &str, iam_role_arn: &'a str) -> Option<&'a str> {
    (name_after_slash(instance_profile_arn) != name_after_slash(iam_role_arn)).then_some(iam_role_arn)
}

fn is_iam_lag(error: &ApiError) -> bool {
    error.message.contains(IAM_LAG)
}

fn is_dry_run_denied(error: &ApiError) -> bool {
    error.is("DRY_RUN_FAILED") && error.message.to_ascii_lowercase().contains("not authorized")
}

fn is_already_exists(error: &ApiError) -> bool {
    error.is("RESOURCE_ALREADY_EXISTS")
        || (error.is("INVALID_PARAMETER_VALUE") && error.message.contains("already exists"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(profile: &str, role: &str, expect: Option<&str>) {
        assert_eq!(role_arn_to_send(profile, role), expect);
    }

    #[test]
    fn role_arn_only_when_names_differ() {
        check("arn:aws:iam::1:instance-profile/MyRoleA", "arn:aws:iam::1:role/MyRoleA", None);
        check("arn:aws:iam::1:instance-profile/p", "arn:aws:iam::1:role/r", Some("arn:aws:iam::1:role/r"));
        check("arn:aws:iam::1:instance-profile/path/p", "arn:aws:iam::1:role/other/p", None);
    }
}
