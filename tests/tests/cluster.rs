//! A cluster xacct did not create, through the CLI: a config that grows from one bucket owner to
//! two leaves no stale global keys behind, destroy takes back exactly what xacct added, and a
//! destroy that cannot read the cluster stops before removing anything.

use serde_json::{json, Value};
use testkit::fixtures;

use crate::flow::{World, A};

const B1: &str = "222222222222";
const B2: &str = "333333333333";
const PROFILE: &str = "arn:aws:iam::111111111111:instance-profile/MyRoleA";

fn config(cluster_id: &str, owners: &[(&str, &str, &str)], mount: bool) -> String {
    let mut text =
        format!("[deployment]\naccount_id = \"{A}\"\naws_profile = \"acct-{A}\"\ninstance_role = \"MyRoleA\"\n\n");
    for (account, role, bucket) in owners {
        text.push_str(&format!(
            "[[bucket_owners]]\naccount_id = \"{account}\"\naws_profile = \"acct-{account}\"\nrole = \"{role}\"\n  \
             [[bucket_owners.buckets]]\n  name = \"{bucket}\"\n  mount = {mount}\n\n"
        ));
    }
    text.push_str(&format!("[databricks]\ncluster_id = \"{cluster_id}\"\n"));
    text
}

/// A cluster the team made itself, with a Spark conf key of its own.
fn foreign_cluster(world: &World) -> String {
    let spec = json!({
        "cluster_name": "team-etl",
        "spark_version": "15.4.x-scala2.12",
        "node_type_id": "i3.xlarge",
        "num_workers": 2,
        "spark_conf": { "spark.sql.shuffle.partitions": "64" },
        "aws_attributes": { "availability": "SPOT" },
    });
    world.standin.insert_cluster(spec, "TERMINATED")
}

fn spark_conf(world: &World, id: &str) -> serde_json::Map<String, Value> {
    world.standin.cluster(id).unwrap()["spark_conf"].as_object().cloned().unwrap_or_default()
}

async fn world_with_buckets() -> World {
    let world = World::start(&[A, B1, B2]).await;
    fixtures::existing_bucket(&world.profiles, B1, "etl-raw").await.unwrap();
    fixtures::existing_bucket(&world.profiles, B2, "etl-curated").await.unwrap();
    world
}

#[tokio::test(flavor = "multi_thread")]
async fn growing_to_two_owners_drops_the_global_keys_and_destroy_keeps_the_cluster_own_settings() {
    let world = world_with_buckets().await;
    let id = foreign_cluster(&world);

    let one = config(&id, &[(B1, "RoleB1", "etl-raw")], false);
    let (out, json) = world.xacct(&["provision", "--yes"], &one);
    assert!(out.status.success(), "{json}");
    let conf = spark_conf(&world, &id);
    assert_eq!(conf["spark.hadoop.fs.s3a.stsAssumeRole.arn"], "arn:aws:iam::222222222222:role/RoleB1");

    let two = config(&id, &[(B1, "RoleB1", "etl-raw"), (B2, "RoleB2", "etl-curated")], false);
    let (out, json) = world.xacct(&["provision", "--yes"], &two);
    assert!(out.status.success(), "{json}");
    let conf = spark_conf(&world, &id);
    for global in [
        "spark.hadoop.fs.s3a.credentialsType",
        "spark.hadoop.fs.s3a.stsAssumeRole.arn",
        "spark.hadoop.fs.s3a.acl.default",
    ] {
        assert!(!conf.contains_key(global), "stale `{global}` left on the cluster: {conf:?}");
    }
    assert_eq!(conf["spark.hadoop.fs.s3a.bucket.etl-raw.stsAssumeRole.arn"], "arn:aws:iam::222222222222:role/RoleB1");
    assert_eq!(
        conf["spark.hadoop.fs.s3a.bucket.etl-curated.stsAssumeRole.arn"],
        "arn:aws:iam::333333333333:role/RoleB2"
    );
    assert_eq!(conf["spark.sql.shuffle.partitions"], "64");

    let (out, json) = world.xacct(&["destroy", "--yes"], &two);
    assert!(out.status.success(), "{json}");
    let cluster = world.standin.cluster(&id).expect("a cluster xacct did not create is never deleted");
    assert_eq!(cluster["aws_attributes"], json!({ "availability": "SPOT" }), "only xacct's profile goes");
    assert_eq!(cluster["spark_conf"], json!({ "spark.sql.shuffle.partitions": "64" }), "only xacct's keys go");
    assert!(world.standin.instance_profiles().is_empty());

    // Destroyed means converged: a second destroy has nothing to do on either side.
    let (out, json) = world.xacct(&["destroy", "--yes"], &two);
    assert!(out.status.success(), "{json}");
    assert_eq!(json["api_calls"]["databricks_writes"], 0, "{json}");
}

#[tokio::test(flavor = "multi_thread")]
async fn destroy_that_cannot_read_the_cluster_stops_and_says_what_is_left() {
    let world = world_with_buckets().await;
    world.standin.set_ls_handler(world.profiles.ls_handler(B1));
    let id = foreign_cluster(&world);
    let cfg = config(&id, &[(B1, "RoleB1", "etl-raw")], true);
    let (out, json) = world.xacct(&["provision", "--yes"], &cfg);
    assert!(out.status.success(), "{json}");
    assert_eq!(world.standin.mounts().len(), 1);

    // Every read of the cluster fails with a 500 that outlasts any retry.
    world.standin.throttle(Some("/api/2.1/clusters/get"), 10_000, 500, Some("0"));
    let (out, json) = world.xacct(&["destroy", "--yes"], &cfg);
    assert_eq!(out.status.code(), Some(1), "{json}");
    let error = json["error"].as_str().unwrap_or_default();
    assert!(error.contains("clusters/get"), "the error names the call that failed: {error}");
    assert_eq!(world.standin.instance_profiles().len(), 1, "the profile stays while the cluster may still use it");
    assert_eq!(world.standin.mounts().len(), 1, "the mount was not silently skipped");
    assert!(world.standin.instance_profiles()[0]["instance_profile_arn"] == PROFILE);
}
