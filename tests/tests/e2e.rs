//! The end-to-end suite: one test binary. Every test starts what it needs
//! through `testkit`: the moto emulator, the accounts, the Databricks stand-in.

// The whole crate is a test binary: its helpers may fail loudly, as its tests do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod apply;
mod cli;
mod cluster;
mod crash;
mod exposure;
mod faults;
mod flow;
mod foundation;
mod lossy;
mod multi;
mod oracle;
mod orgs;
mod report;
mod unity;
mod verify;
