//! What a Databricks user pastes: the cluster Spark conf (lines and the Clusters API's
//! `spark_conf` map), the notebook alternative in Scala and Python, the `dbutils.fs.mount`
//! call, and the commands xacct runs on a cluster through command execution.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use policy_model::{BucketName, Flow, Owner};

use crate::keys::{self, python_str, scala_str, SPARK_HADOOP_PREFIX};

/// The cluster Spark conf as `key value` lines, the form of the cluster's Spark tab.
pub fn spark_conf_lines(flow: &Flow) -> String {
    let mut out = String::new();
    for (key, value) in keys::hadoop_settings(flow) {
        let _ = writeln!(out, "{SPARK_HADOOP_PREFIX}{key} {value}");
    }
    out
}

/// The `spark_conf` map of a Clusters API spec (`/api/2.1/clusters/create` and `edit`).
pub fn spark_conf_map(flow: &Flow) -> BTreeMap<String, String> {
    keys::hadoop_settings(flow).into_iter().map(|(k, v)| (format!("{SPARK_HADOOP_PREFIX}{k}"), v)).collect()
}

/// The Spark conf keys xacct manages for this flow: the runbook's three global keys, and the
/// per-bucket ones of the config's buckets. A cluster key in this set that [`spark_conf_map`] does
/// not set is stale (switching from one owner to several leaves the global role behind) and goes.
pub fn managed_spark_keys(flow: &Flow) -> BTreeSet<String> {
    let scopes = std::iter::once(None).chain(flow.buckets().map(|(_, b)| Some(&b.name)));
    scopes
        .flat_map(|bucket| {
            policy_model::chain::s3a::OPTIONS
                .map(|option| format!("{SPARK_HADOOP_PREFIX}{}", keys::s3a_key(bucket, option)))
        })
        .collect()
}

/// The cluster's `spark_conf` with xacct's settings applied: the [`managed_spark_keys`] are
/// removed from `existing`, then [`spark_conf_map`] is added. Every other key is kept.
pub fn merge_spark_conf(existing: &BTreeMap<String, String>, flow: &Flow) -> BTreeMap<String, String> {
    let managed = managed_spark_keys(flow);
    let mut merged: BTreeMap<String, String> =
        existing.iter().filter(|(k, _)| !managed.contains(*k)).map(|(k, v)| (k.clone(), v.clone())).collect();
    merged.extend(spark_conf_map(flow));
    merged
}

/// [`spark_conf_map`] as indented JSON.
pub fn spark_conf_json(flow: &Flow) -> String {
    serde_json::to_string_pretty(&spark_conf_map(flow)).unwrap_or_default()
}

pub(crate) fn render_spark_conf(flow: &Flow) -> String {
    let mut out = String::new();
    out.push_str("# Cluster > Advanced options > Spark > Spark config\n");
    if keys::uses_per_bucket_keys(flow) {
        out.push_str("# Several bucket owners: each bucket assumes its own owner's role through per-bucket keys.\n");
    }
    out.push_str(&spark_conf_lines(flow));
    out.push_str("\n# The same settings as the `spark_conf` map of a Clusters API spec\n");
    out.push_str(&spark_conf_json(flow));
    out.push('\n');
    out
}

/// The notebook alternative in Scala: `sc.hadoopConfiguration.set(...)` for each setting, then
/// a `dbutils.fs.ls` of each bucket.
pub fn notebook_scala(flow: &Flow) -> String {
    let mut out = String::from("// First command of the notebook, when the cluster's Spark conf does not set these\n");
    for (key, value) in keys::hadoop_settings(flow) {
        let _ = writeln!(out, "sc.hadoopConfiguration.set({}, {})", scala_str(&key), scala_str(&value));
    }
    out.push_str("\n// Check access\n");
    for (_, bucket) in flow.buckets() {
        let _ = writeln!(out, "dbutils.fs.ls({})", scala_str(&s3a_dir(&bucket.name)));
    }
    out
}

/// The notebook alternative in Python: `spark._jsc.hadoopConfiguration().set(...)` for each
/// setting, then a `dbutils.fs.ls` of each bucket.
pub fn notebook_python(flow: &Flow) -> String {
    let mut out = String::from("# First command of the notebook, when the cluster's Spark conf does not set these\n");
    for (key, value) in keys::hadoop_settings(flow) {
        let _ = writeln!(out, "spark._jsc.hadoopConfiguration().set({}, {})", python_str(&key), python_str(&value));
    }
    out.push_str("\n# Check access\n");
    for (_, bucket) in flow.buckets() {
        let _ = writeln!(out, "dbutils.fs.ls({})", python_str(&s3a_dir(&bucket.name)));
    }
    out
}

/// `s3a://<bucket>`, the mount source.
pub fn s3a_url(bucket: &BucketName) -> String {
    format!("s3a://{bucket}")
}

/// `s3a://<bucket>/`, the path that `dbutils.fs.ls` lists without a mount.
fn s3a_dir(bucket: &BucketName) -> String {
    format!("s3a://{bucket}/")
}

/// `/mnt/<bucket>`, where a bucket with `mount = true` is mounted.
pub fn mount_point(bucket: &BucketName) -> String {
    format!("/mnt/{bucket}")
}

/// The mount's `extraConfigs`. A mount serves one bucket, so the global keys name that bucket's
/// owner role even when the cluster conf needs per-bucket keys.
fn mount_configs(owner: &Owner) -> [(String, String); 3] {
    keys::assume_role_settings(None, &owner.role_arn())
}

fn mounted(flow: &Flow) -> impl Iterator<Item = (&Owner, &BucketName)> {
    flow.buckets().filter(|(_, b)| b.mount).map(|(o, b)| (o, &b.name))
}

/// The runbook's Scala `dbutils.fs.mount` call for each bucket with `mount = true`, each followed
/// by its `dbutils.fs.ls` check.
pub fn mount_scala(flow: &Flow) -> String {
    let mut out = String::new();
    for (i, (owner, bucket)) in mounted(flow).enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let configs: Vec<String> =
            mount_configs(owner).iter().map(|(k, v)| format!("    {} -> {}", scala_str(k), scala_str(v))).collect();
        let _ = write!(
            out,
            "dbutils.fs.mount({}, {},\n  extraConfigs = Map(\n{}\n  )\n)\ndbutils.fs.ls({})\n",
            scala_str(&s3a_url(bucket)),
            scala_str(&mount_point(bucket)),
            configs.join(",\n"),
            scala_str(&mount_point(bucket)),
        );
    }
    out
}

/// The Python `dbutils.fs.mount` call (`extra_configs=`) for each bucket with `mount = true`,
/// each followed by its `dbutils.fs.ls` check.
pub fn mount_python(flow: &Flow) -> String {
    let mut out = String::new();
    for (i, (owner, bucket)) in mounted(flow).enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = write!(
            out,
            "dbutils.fs.mount(\n    {},\n    {},\n    extra_configs={},\n)\ndbutils.fs.ls({})\n",
            python_str(&s3a_url(bucket)),
            python_str(&mount_point(bucket)),
            python_dict(&mount_configs(owner), "    "),
            python_str(&mount_point(bucket)),
        );
    }
    out
}

fn python_dict(entries: &[(String, String)], indent: &str) -> String {
    let mut out = String::from("{\n");
    for (k, v) in entries {
        let _ = writeln!(out, "{indent}    {}: {},", python_str(k), python_str(v));
    }
    out.push_str(indent);
    out.push('}');
    out
}

pub(crate) fn render_mount(flow: &Flow) -> String {
    if mounted(flow).next().is_none() {
        return "# No bucket has `mount = true`: nothing to mount.\n".to_owned();
    }
    format!("// Scala\n{}\n# Python\n{}", mount_scala(flow), mount_python(flow))
}

/// Python for command execution that mounts `bucket` at `/mnt/<bucket>` with its owner's role,
/// or updates the mount when the mount point exists, so running it twice is harmless. It prints
/// `mounted <mount point>` or `updated <mount point>`.
pub fn mount_command_python(owner: &Owner, bucket: &BucketName) -> String {
    let source = python_str(&s3a_url(bucket));
    let point = python_str(&mount_point(bucket));
    format!(
        "_xacct_configs = {configs}\n\
         if any(m.mountPoint == {point} for m in dbutils.fs.mounts()):\n    \
         dbutils.fs.updateMount({source}, {point}, extra_configs=_xacct_configs)\n    \
         print(\"updated \" + {point})\n\
         else:\n    \
         dbutils.fs.mount({source}, {point}, extra_configs=_xacct_configs)\n    \
         print(\"mounted \" + {point})\n",
        configs = python_dict(&mount_configs(owner), ""),
    )
}

/// Python for command execution that lists `/mnt/<bucket>` (when `mounted`) or `s3a://<bucket>/`
/// and prints one JSON line: `{"path": …, "entries": <count>, "sample": [<up to 5 names>]}`.
/// A failure surfaces as the command's error, whose cause carries the S3 or STS message.
pub fn ls_command_python(bucket: &BucketName, mounted: bool) -> String {
    let path = if mounted { mount_point(bucket) } else { s3a_dir(bucket) };
    format!(
        "import json as _xacct_json\n\
         _xacct_files = dbutils.fs.ls({path})\n\
         print(_xacct_json.dumps({{\"path\": {path}, \"entries\": len(_xacct_files), \
         \"sample\": [f.name for f in _xacct_files[:5]]}}))\n",
        path = python_str(&path),
    )
}

/// Python for command execution that unmounts `mount_point` (such as [`mount_point`]'s
/// `/mnt/<bucket>`) and prints `unmounted <mount point>`.
pub fn unmount_command_python(mount_point: &str) -> String {
    let point = python_str(mount_point);
    format!("dbutils.fs.unmount({point})\nprint(\"unmounted \" + {point})\n")
}

#[cfg(test)]
mod tests {
    use expect_test::{expect, Expect};

    use super::*;
    use crate::fixtures::{one_owner, two_owners};

    #[track_caller]
    fn check(existing: &BTreeMap<String, String>, flow: &Flow, expect: Expect) {
        let merged = merge_spark_conf(existing, flow);
        assert_eq!(merge_spark_conf(&merged, flow), merged, "merging twice changes nothing");
        expect.assert_eq(&serde_json::to_string_pretty(&merged).unwrap());
    }

    #[test]
    fn cluster_commands() {
        let bucket = BucketName::new("logs.example.com").unwrap();
        expect![[r#"
            dbutils.fs.unmount("/mnt/a\"b")
            print("unmounted " + "/mnt/a\"b")
        "#]]
        .assert_eq(&unmount_command_python("/mnt/a\"b"));
        expect![[r#"
            import json as _xacct_json
            _xacct_files = dbutils.fs.ls("/mnt/logs.example.com")
            print(_xacct_json.dumps({"path": "/mnt/logs.example.com", "entries": len(_xacct_files), "sample": [f.name for f in _xacct_files[:5]]}))
        "#]]
        .assert_eq(&ls_command_python(&bucket, true));
    }

    #[test]
    fn merge_replaces_only_managed_keys() {
        let mut existing = spark_conf_map(&one_owner());
        existing.insert("spark.executor.memory".to_owned(), "4g".to_owned());
        existing.insert("spark.hadoop.fs.s3a.bucket.elsewhere.acl.default".to_owned(), "Private".to_owned());
        check(
            &existing,
            &one_owner(),
            expect![[r#"
            {
              "spark.executor.memory": "4g",
              "spark.hadoop.fs.s3a.acl.default": "BucketOwnerFullControl",
              "spark.hadoop.fs.s3a.bucket.elsewhere.acl.default": "Private",
              "spark.hadoop.fs.s3a.credentialsType": "AssumeRole",
              "spark.hadoop.fs.s3a.stsAssumeRole.arn": "arn:aws:iam::222222222222:role/MyRoleB"
            }"#]],
        );
        check(
            &existing,
            &two_owners(),
            expect![[r#"
            {
              "spark.executor.memory": "4g",
              "spark.hadoop.fs.s3a.bucket.analytics.acl.default": "BucketOwnerFullControl",
              "spark.hadoop.fs.s3a.bucket.analytics.credentialsType": "AssumeRole",
              "spark.hadoop.fs.s3a.bucket.analytics.stsAssumeRole.arn": "arn:aws:iam::333333333333:role/DataReader",
              "spark.hadoop.fs.s3a.bucket.elsewhere.acl.default": "Private",
              "spark.hadoop.fs.s3a.bucket.logs.example.com.acl.default": "BucketOwnerFullControl",
              "spark.hadoop.fs.s3a.bucket.logs.example.com.credentialsType": "AssumeRole",
              "spark.hadoop.fs.s3a.bucket.logs.example.com.stsAssumeRole.arn": "arn:aws:iam::222222222222:role/MyRoleB",
              "spark.hadoop.fs.s3a.bucket.my-bucket.acl.default": "BucketOwnerFullControl",
              "spark.hadoop.fs.s3a.bucket.my-bucket.credentialsType": "AssumeRole",
              "spark.hadoop.fs.s3a.bucket.my-bucket.stsAssumeRole.arn": "arn:aws:iam::222222222222:role/MyRoleB"
            }"#]],
        );
    }
}
