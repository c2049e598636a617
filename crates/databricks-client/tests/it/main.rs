//! One test binary for the client: plain wiremock tests, flows against testkit's stand-in, and the contract check
//! against the official Python SDK. (`tests/redaction.rs` is separate: it installs a global subscriber.)
#![cfg(test)]

mod api;
mod contract;
mod stand_in;
