//! The end-to-end suite: one test binary. Every test starts what it needs
//! through `testkit`: the moto emulator, the accounts, the Databricks stand-in.

mod cli;
mod faults;
mod flow;
mod foundation;
mod multi;
mod oracle;
mod verify;
