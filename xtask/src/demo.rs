//! `demo`: the whole flow on an emulator and a Databricks stand-in that it
//! starts and stops itself. Needs nothing but the repo and Python.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;

use xacct::cli::{Command, ConfigArg, Output};

use crate::dev;

const A: &str = "111111111111";
const B: &str = "222222222222";
const BUCKET: &str = "xacct-demo-bucket";
pub fn demo() -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    dev::ensure_venv()?;
    let runtime = xacct::session::runtime()?;
    step("starting the AWS emulator (moto) and the Databricks stand-in");
    let emulator = testkit::Emulator::start()?;
    let profiles = runtime.block_on(emulator.bootstrap(&[A, B]))?;
    profiles.export();
    let standin = runtime.block_on(testkit::databricks::DatabricksStandIn::start());
    standin.set_ls_handler(profiles.ls_handler(B));
    std::env::set_var("DATABRICKS_HOST", standin.uri());
    std::env::set_var("DATABRICKS_TOKEN", standin.token());
    println!("  AWS endpoint {} (accounts {A} and {B}), Databricks stand-in {}", emulator.endpoint(), standin.uri());

    step("preparing what a real account already has: the bucket with a foreign policy, the cross-account role");
    runtime.block_on(prepare(&profiles))?;

    let path = testkit::workspace_root().join("examples/demo.toml");
    let config = xacct::config::load(&path)?;
    let provision =
        || Command::Provision { config: ConfigArg { config: path.clone(), output: Output::Text }, yes: true };

    step("xacct provision --config examples/demo.toml --yes");
    anyhow::ensure!(xacct::cli::run(provision()) == ExitCode::SUCCESS, "provision failed");

    step("xacct verify --config examples/demo.toml --on-cluster (live: reads the deployed documents, then probes)");
    let report = runtime.block_on(async {
        let session = xacct::session::Session::open(config.clone()).await?;
        // Right after the first provision's writes: probes wait for IAM propagation within a bound.
        xacct::chain::live_report_after_write(&session, true).await
    })?;
    xacct::cli::print_report(&report, &mut std::io::stdout())?;

    step("xacct render --what diagram, with the live link statuses");
    let opts = spark_conf::RenderOptions { link_status: xacct::cli::link_status(&report), ..Default::default() };
    print!("{}", spark_conf::render(&config.flow, spark_conf::What::Diagram, &opts));

    step("xacct provision again: a converged run changes nothing");
    anyhow::ensure!(xacct::cli::run(provision()) == ExitCode::SUCCESS, "the second provision failed");

    step("what the Databricks stand-in received");
    for r in standin.requests() {
        println!("  {} {}", r.method, r.path);
    }
    let listing = runtime.block_on(profiles.s3(B)).list_objects_v2().bucket(BUCKET).send();
    let _ = runtime.block_on(listing).context("listing the demo bucket")?;

    anyhow::ensure!(report.ok, "verify found a broken link");
    step(&format!("done in {:.1}s; stopping the emulator and the stand-in", started.elapsed().as_secs_f64()));
    drop(standin);
    drop(emulator);
    Ok(ExitCode::SUCCESS)
}

fn step(text: &str) {
    println!("\n==> {text}");
}

async fn prepare(profiles: &testkit::Profiles) -> anyhow::Result<()> {
    testkit::fixtures::existing_bucket(profiles, B, BUCKET).await?;
    testkit::fixtures::existing_cross_account_role(profiles, A, "databricks-cross-account").await?;
    Ok(())
}
