//! Who else gets in, for a config: the exposure findings on the documents `provision` would
//! leave (offline) or on the deployed ones (live). Both go through [`findings`], from a
//! `verify::State` however it was obtained, so they agree on the same documents.

use policy_model::merge;
use verify::exposure::Exposure;
use verify::State;

use crate::config::Config;
use crate::session::Session;
use crate::Error;

/// The documents `provision` would leave: ours merged by Sid into the config's existing bucket,
/// trust and key policies (`existing_policy`, `existing_trust_policy`, `existing_key_policy`).
/// No credentials, no calls.
pub fn offline_state(config: &Config) -> State {
    let inputs = verify::OfflineInputs {
        bucket_policies: config.known.bucket_policies.clone(),
        key_policies: config.known.key_policies.clone(),
        scps: config.known.scps.clone(),
        ..Default::default()
    };
    let mut state = State::offline(&config.flow, &inputs);
    let ours = policy_model::build::owner_trust_policy(&config.flow);
    for (role, existing) in &config.known.trust_policies {
        match merge::merge(Some(existing), &ours.statement, merge::TRUST_POLICY_LIMIT) {
            Ok(trust) => {
                if let Some(r) = state.roles.get_mut(role) {
                    r.trust = trust;
                }
            }
            Err(e) => {
                state.unreadable.insert(role.clone(), format!("the trust policy of {role} cannot be written: {e}"));
            }
        }
    }
    state
}

/// The deployed documents, read through aws-apply's read-only observe layer. A resource whose
/// read failed is listed in the state's `unreadable` and comes out unchecked.
pub async fn live_state(session: &Session) -> Result<State, Error> {
    match session.accounts.check_identities().await {
        Err(e @ aws_apply::Error::WrongAccount { .. }) => return Err(e.into()),
        Err(e) => tracing::debug!(error = %e, "identity check failed; the reads will say why"),
        Ok(()) => {}
    }
    let inputs = verify::LiveInputs { aws: Some(session.accounts.clone()), ..Default::default() };
    Ok(verify::read_state(&inputs, &session.config.flow).await)
}

/// The findings on a state, with the config's `[exposure] accept` applied.
pub fn findings(config: &Config, state: &State) -> Exposure {
    verify::exposure::exposure(&config.flow, state, &config.exposure.accept)
}
