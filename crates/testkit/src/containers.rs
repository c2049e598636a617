//! LocalStack through the `testcontainers` crate, for machines with a Docker
//! engine (feature `containers`). Point the harness at it with
//! `XACCT_AWS_ENDPOINT=<LocalStack::endpoint>`; see the README.

use testcontainers::core::{IntoContainerPort, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, GenericImage, ImageExt, TestcontainersError};

/// A running LocalStack container with IAM, STS, S3 and KMS.
pub struct LocalStack {
    _container: ContainerAsync<GenericImage>,
    endpoint: String,
}

impl LocalStack {
    pub async fn start() -> Result<LocalStack, TestcontainersError> {
        let container = GenericImage::new("localstack/localstack", "4")
            .with_exposed_port(4566.tcp())
            .with_wait_for(WaitFor::message_on_stdout("Ready."))
            .with_env_var("SERVICES", "iam,sts,s3,kms")
            .start()
            .await?;
        let port = container.get_host_port_ipv4(4566.tcp()).await?;
        Ok(LocalStack { _container: container, endpoint: format!("http://127.0.0.1:{port}") })
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}
