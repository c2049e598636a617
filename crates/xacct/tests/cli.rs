//! The installed binary as a user first meets it. Building this test also builds the `xacct`
//! binary that the e2e suite drives, with the same features as every other test target.

#![allow(clippy::unwrap_used, reason = "a test binary fails loudly")]

use std::process::Command;

fn xacct(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_xacct")).args(args).output().unwrap()
}

#[test]
fn help_lists_the_product_commands() {
    let out = xacct(&["--help"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for command in ["plan", "provision", "verify", "exposure", "destroy", "render", "simulate"] {
        assert!(text.lines().any(|l| l.trim_start().starts_with(command)), "`{command}` missing from:\n{text}");
    }
    // The repo's task-runner commands are not the product's.
    for command in ["demo", "emulator", "bench"] {
        assert!(!text.lines().any(|l| l.trim_start().starts_with(command)), "`{command}` in:\n{text}");
    }
}

#[test]
fn a_usage_error_under_json_is_one_json_object_and_exit_2() {
    let out = xacct(&["render", "--output", "json", "--config", "/nonexistent/xacct.toml", "--what", "mount", "extra"]);
    assert_eq!(out.status.code(), Some(2));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value["ok"], false);
    assert_eq!(value["kind"], "usage");
}
