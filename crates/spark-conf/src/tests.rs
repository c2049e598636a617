//! Snapshots of every render target, with one and with several owners, and the round trip
//! from rendered text back to settings.

use std::collections::BTreeMap;
use std::process::Command;

use expect_test::expect_file;
use policy_model::Flow;

use crate::fixtures::{one_owner, two_owners};
use crate::{render, What};

#[track_caller]
fn check_render(flow: &Flow, dir: &str) {
    for what in What::ALL {
        let got = render(flow, what, &crate::RenderOptions::default());
        expect_file![format!("../snapshots/{dir}/{what}.txt")].assert_eq(&got);
    }
}

#[test]
fn renders_one_owner() {
    check_render(&one_owner(), "one-owner");
}

#[test]
fn renders_two_owners() {
    check_render(&two_owners(), "two-owners");
}

#[test]
fn what_names_round_trip() {
    for what in What::ALL {
        assert_eq!(what.name().parse::<What>(), Ok(what));
    }
    assert_eq!(
        "spark_conf".parse::<What>().unwrap_err().to_string(),
        "unknown render target `spark_conf`; expected policies, spark-conf, notebook-scala, notebook-python, mount, s3a or diagram"
    );
}

/// Compiles Python source with the system `python3`; `dbutils` and `spark` need not resolve.
#[track_caller]
fn check_python_compiles(name: &str, source: &str) {
    let path = std::env::temp_dir().join(format!("spark-conf-{}-{name}.py", std::process::id()));
    std::fs::write(&path, source).unwrap();
    let out = Command::new("python3").arg("-m").arg("py_compile").arg(&path).output().unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(out.status.success(), "{name} does not compile:\n{source}\n{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn python_compiles() {
    for (label, flow) in [("one", one_owner()), ("two", two_owners())] {
        check_python_compiles(&format!("{label}-mount"), &crate::mount_python(&flow));
        check_python_compiles(&format!("{label}-notebook"), &render(&flow, What::NotebookPython, &Default::default()));
        for (owner, bucket) in flow.buckets() {
            check_python_compiles(&format!("{label}-mount-cmd"), &crate::mount_command_python(owner, &bucket.name));
            check_python_compiles(&format!("{label}-ls-mnt"), &crate::ls_command_python(&bucket.name, true));
            check_python_compiles(&format!("{label}-ls-s3a"), &crate::ls_command_python(&bucket.name, false));
        }
    }
}

#[test]
fn python_compile_check_can_fail() {
    let path = std::env::temp_dir().join(format!("spark-conf-{}-broken.py", std::process::id()));
    std::fs::write(&path, "dbutils.fs.ls(\"/mnt/x\"\n").unwrap();
    let out = Command::new("python3").arg("-m").arg("py_compile").arg(&path).output().unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(!out.status.success());
}

mod round_trip {
    use super::*;
    use crate::{
        check, parse_spark_conf_json, parse_spark_conf_text, s3a_settings, spark_conf_json, spark_conf_lines,
        spark_conf_map, spark_defaults_conf, S3aOptions, SessionName,
    };
    use policy_model::{Access, AccountId, Bucket, BucketName, Deployment, Owner, RoleName};
    use proptest::prelude::*;

    fn arb_flow() -> impl Strategy<Value = Flow> {
        let role = "[A-Za-z0-9+=,.@_-]{1,24}";
        let bucket = ("[a-z0-9][a-z0-9.-]{1,20}[a-z0-9]", any::<bool>(), any::<bool>(), any::<bool>())
            .prop_filter_map("valid bucket name", |(name, rw, kms, mount)| {
                Some((BucketName::new(&name).ok()?, rw, kms, mount))
            });
        let owner = (role, proptest::collection::vec(bucket, 0..4));
        (proptest::collection::vec(owner, 1..4), proptest::option::of(role)).prop_filter_map(
            "distinct bucket names",
            |(owners, cross)| {
                let mut names: Vec<String> =
                    owners.iter().flat_map(|(_, bs)| bs.iter().map(|b| b.0.to_string())).collect();
                let n = names.len();
                names.sort();
                names.dedup();
                if names.len() != n {
                    return None;
                }
                let owners = owners
                    .into_iter()
                    .enumerate()
                    .map(|(i, (role, buckets))| {
                        let account =
                            AccountId::new(&format!("{}", 222_222_222_222u64 + i as u64 * 111_111_111_111)).unwrap();
                        let buckets = buckets
                            .into_iter()
                            .map(|(name, rw, kms, mount)| Bucket {
                                name,
                                access: if rw { Access::ReadWrite } else { Access::ReadOnly },
                                kms_key_arn: kms.then(|| {
                                    policy_model::KmsKeyArn::new(&format!("arn:aws:kms:us-east-1:{account}:key/k"))
                                        .unwrap()
                                }),
                                mount,
                            })
                            .collect();
                        Owner { account_id: account, role: RoleName::new(&role).unwrap(), buckets }
                    })
                    .collect();
                Flow::new(
                    "us-east-1",
                    Deployment {
                        account_id: AccountId::new("111111111111").unwrap(),
                        instance_role: RoleName::new("MyRoleA").unwrap(),
                        cross_account_role: cross.map(|r| RoleName::new(&r).unwrap()),
                    },
                    owners,
                )
                .ok()
            },
        )
    }

    proptest! {
        #[test]
        fn spark_conf_parses_back(flow in arb_flow()) {
            let expected: Vec<(String, String)> = spark_conf_map(&flow).into_iter().collect();
            let mut lines = parse_spark_conf_text(&spark_conf_lines(&flow)).unwrap();
            lines.sort();
            prop_assert_eq!(&lines, &expected);
            let mut json = parse_spark_conf_json(&spark_conf_json(&flow)).unwrap();
            json.sort();
            prop_assert_eq!(&json, &expected);
            prop_assert_eq!(check(&lines, &flow), vec![]);
        }

        #[test]
        fn spark_defaults_parse_back(flow in arb_flow(), session in "[A-Za-z0-9+=,.@_-]{2,64}") {
            let opts = S3aOptions {
                session_name: SessionName::new(&session).unwrap(),
                sts_endpoint: Some("https://sts.us-east-1.amazonaws.com".to_owned()),
                sts_region: Some("us-east-1".to_owned()),
            };
            let expected: Vec<(String, String)> =
                s3a_settings(&flow, &opts).into_iter().map(|(k, v)| (format!("spark.hadoop.{k}"), v)).collect();
            let parsed = parse_spark_conf_text(&spark_defaults_conf(&flow, &opts)).unwrap();
            prop_assert_eq!(&parsed, &expected);
            prop_assert_eq!(check(&parsed, &flow), vec![]);
        }
    }

    #[test]
    fn json_keys_are_unique() {
        // The map would silently drop a setting if two buckets rendered the same key.
        let flow = two_owners();
        let map: BTreeMap<String, String> = spark_conf_map(&flow);
        assert_eq!(map.len(), crate::keys::hadoop_settings(&flow).len());
    }
}

#[test]
fn core_site_xml_reads_back() {
    let opts = crate::S3aOptions {
        session_name: "xacct-test".parse().unwrap(),
        sts_endpoint: Some("https://sts.example.com/?a=1&b=<2>".to_owned()),
        sts_region: Some("eu-west-1".to_owned()),
    };
    for flow in [one_owner(), two_owners()] {
        let xml = crate::core_site_xml(&flow, &opts);
        let path = std::env::temp_dir().join(format!("spark-conf-{}-core-site.xml", std::process::id()));
        std::fs::write(&path, &xml).unwrap();
        let script = "import json, sys, xml.etree.ElementTree as ET\n\
                      root = ET.parse(sys.argv[1]).getroot()\n\
                      print(json.dumps([[p.findtext('name'), p.findtext('value')] for p in root.iter('property')]))";
        let out = Command::new("python3").arg("-c").arg(script).arg(&path).output().unwrap();
        let _ = std::fs::remove_file(&path);
        assert!(out.status.success(), "{xml}\n{}", String::from_utf8_lossy(&out.stderr));
        let read: Vec<(String, String)> = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(read, crate::s3a_settings(&flow, &opts));
    }
}

#[test]
fn diagram_follows_the_options() {
    let opts = crate::RenderOptions {
        diagram_format: crate::DiagramFormat::Dot,
        link_status: BTreeMap::from([("scp".to_owned(), crate::LinkStatus::Fail)]),
        ..Default::default()
    };
    let got = render(&one_owner(), What::Diagram, &opts);
    assert!(got.starts_with("digraph xacct {"), "{got}");
    assert!(got.contains(r##"scp -> roleA [label="no deny ✘ fail", style=dashed, color="#c62828""##), "{got}");
}
