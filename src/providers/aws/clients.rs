//! The AWS service clients that several kind families share, each built
//! once on first use through [`Cloud::client`] with the request counter
//! attached. A kind of a new service builds its own client the same way in
//! its module (see `kinds::dynamodb_table`); nothing here or in [`Cloud`]
//! has to change for it.

use crate::providers::Cloud;

/// `Cloud::$name()`: the `$krate` client.
macro_rules! service {
    ($name:ident, $krate:ident) => {
        pub fn $name(&self) -> $krate::Client {
            self.client(|conf, counter| {
                $krate::Client::from_conf(
                    $krate::config::Builder::from(conf)
                        .interceptor(counter)
                        .build(),
                )
            })
        }
    };
}

impl Cloud {
    service!(ec2, aws_sdk_ec2);
    service!(eks, aws_sdk_eks);
    service!(iam, aws_sdk_iam);
    service!(kms, aws_sdk_kms);
    service!(tagging, aws_sdk_resourcegroupstagging);

    /// S3 with path-style addressing when an endpoint is given (emulators
    /// serve no per-bucket host names).
    pub fn s3(&self) -> aws_sdk_s3::Client {
        self.client(|conf, counter| {
            aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(conf)
                    .force_path_style(conf.endpoint_url().is_some())
                    .interceptor(counter)
                    .build(),
            )
        })
    }
}
