//! The harness itself: the emulator starts as our child, and the profiles it
//! writes reach the accounts they name.

use testkit::{Backend, Emulator};

const A: &str = "111111111111";
const B: &str = "222222222222";

#[tokio::test(flavor = "multi_thread")]
async fn profiles_reach_their_own_accounts() {
    let emulator = Emulator::start().unwrap();
    eprintln!("emulator at {} (started by the harness: {})", emulator.endpoint(), emulator.is_child());
    let profiles = emulator.bootstrap(&[A, B]).await.unwrap();
    let iam_a = aws_sdk_iam::Client::new(&profiles.sdk_config(A).await);
    let iam_b = aws_sdk_iam::Client::new(&profiles.sdk_config(B).await);
    let s3_a = s3(&profiles.sdk_config(A).await);
    let s3_b = s3(&profiles.sdk_config(B).await);

    let sts = aws_sdk_sts::Client::new(&profiles.sdk_config(B).await);
    let who = sts.get_caller_identity().send().await.unwrap();
    assert_eq!(who.account(), Some(B));
    // Who the profile is differs (docs/emulators.md): a session that moto handed out for an
    // assumed role, or, in LocalStack, the account's root through a 12-digit access key.
    let expected = match emulator.backend() {
        Backend::Moto => format!("arn:aws:sts::{B}:assumed-role/xacct-bootstrap/xacct-bootstrap"),
        Backend::LocalStack => format!("arn:aws:iam::{B}:root"),
    };
    assert_eq!(who.arn(), Some(expected.as_str()));

    iam_a
        .create_role()
        .role_name("MyRoleA")
        .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[]}"#)
        .send()
        .await
        .unwrap();
    s3_b.create_bucket().bucket("xacct-foundation").send().await.unwrap();

    // From the other side: A's role is in A and not in B; B's bucket is listed by B and not by A.
    let role = iam_a.get_role().role_name("MyRoleA").send().await.unwrap();
    assert_eq!(role.role().map(|r| r.arn()), Some("arn:aws:iam::111111111111:role/MyRoleA"));
    let missing = iam_b.get_role().role_name("MyRoleA").send().await.unwrap_err();
    assert!(missing.into_service_error().is_no_such_entity_exception());

    s3_b.head_bucket().bucket("xacct-foundation").send().await.unwrap();
    let listed = |out: aws_sdk_s3::operation::list_buckets::ListBucketsOutput| {
        out.buckets().iter().filter_map(|b| b.name().map(str::to_owned)).collect::<Vec<_>>()
    };
    assert_eq!(listed(s3_b.list_buckets().send().await.unwrap()), ["xacct-foundation"]);
    assert!(listed(s3_a.list_buckets().send().await.unwrap()).is_empty());
}

/// Dropping the handle closes the child's stdin, as the kernel does when the test process
/// dies: the emulator must stop. Started as a child even when `XACCT_AWS_ENDPOINT` is set.
#[test]
fn emulator_stops_with_its_handle() {
    let emulator = Emulator::start_child(Backend::from_env().unwrap()).unwrap();
    let authority = emulator.endpoint().trim_start_matches("http://").to_owned();
    assert!(std::net::TcpStream::connect(&authority).is_ok(), "nothing listens on {authority}");
    drop(emulator);
    assert!(std::net::TcpStream::connect(&authority).is_err(), "the emulator still listens on {authority}");
}

/// The wrapper killed outright (no stdin EOF, no signal handler): LocalStack's runtime, a
/// process of its own, must still go (PR_SET_PDEATHSIG); moto's server is the wrapper itself.
#[test]
fn emulator_stops_when_its_wrapper_is_killed() {
    let emulator = Emulator::start_child(Backend::from_env().unwrap()).unwrap();
    let authority = emulator.endpoint().trim_start_matches("http://").to_owned();
    let pid = emulator.child_pid().unwrap().to_string();
    let killed = std::process::Command::new("kill").args(["-KILL", &pid]).status().unwrap();
    assert!(killed.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::net::TcpStream::connect(&authority).is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "the emulator still listens on {authority} 20 s after its wrapper died"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

fn s3(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(config).force_path_style(true).build())
}
