#!/usr/bin/env python3
"""Known-answer vectors for the native EKS bearer token (src/providers/eks_token.rs).

The tokens are made the way `aws eks get-token` makes them (awscli
customizations/eks/get_token.py): an STS client whose GetCallerIdentity request
gets an `x-k8s-aws-id: <cluster>` header through the `provide-client-params` /
`before-sign` event handlers, then

    generate_presigned_url('get_caller_identity', Params={'x-k8s-aws-id': cluster},
                           ExpiresIn=60, HttpMethod='GET')

and "k8s-aws-v1." + urlsafe base64 of the URL with the '=' padding stripped.

Everything that could vary is pinned:
  * fixed credentials are passed to the client (nothing is read from the
    environment or ~/.aws: AWS_* variables are cleared and the config files
    point at /dev/null);
  * `sts_regional_endpoints` is set to "regional", so the URL uses
    https://sts.{region}.amazonaws.com/ as the current aws CLI v2 does (this is
    also botocore's own default now, but a config file or
    AWS_STS_REGIONAL_ENDPOINTS=legacy would switch us-east-1 to the global
    https://sts.amazonaws.com/);
  * botocore's clock is frozen by patching `botocore.auth.get_current_datetime`,
    which SigV4QueryAuth uses for X-Amz-Date.

Run with the project's venv (botocore comes with moto):

    .venv/bin/python tests/support/eks_token_vectors.py

It prints one block per vector; paste them into the tests of eks_token.rs.
"""

import base64
import datetime
import os
import sys

for name in list(os.environ):
    if name.startswith("AWS_"):
        del os.environ[name]
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull

import botocore  # noqa: E402
import botocore.auth  # noqa: E402
import botocore.session  # noqa: E402

K8S_AWS_ID_HEADER = "x-k8s-aws-id"
TOKEN_PREFIX = "k8s-aws-v1."
URL_TIMEOUT = 60

ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
# A made-up session token with the characters that need percent-encoding.
SESSION_TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE+session/token//with=padding=="

VECTORS = [
    # (name, region, cluster, session token, UTC time)
    ("us_east_1_long_term", "us-east-1", "my-cluster", None,
     datetime.datetime(2024, 5, 17, 9, 30, 0)),
    ("eu_west_1_session", "eu-west-1", "prod_cluster-01", SESSION_TOKEN,
     datetime.datetime(2025, 1, 2, 23, 59, 58)),
    # Another partition: the host takes that partition's DNS suffix.
    ("cn_north_1_long_term", "cn-north-1", "my-cluster", None,
     datetime.datetime(2024, 2, 29, 0, 0, 1)),
]

# Regions whose STS host is printed (partition DNS suffixes, from botocore's
# endpoint resolution).
HOST_REGIONS = [
    "us-east-1", "eu-west-1", "us-gov-west-1", "cn-northwest-1",
    "us-iso-east-1", "us-isob-east-1", "us-isof-south-1", "eu-isoe-west-1",
    "eusc-de-east-1",
]


def retrieve_k8s_aws_id(params, context, **kwargs):
    if K8S_AWS_ID_HEADER in params:
        context[K8S_AWS_ID_HEADER] = params.pop(K8S_AWS_ID_HEADER)


def inject_k8s_aws_id_header(request, **kwargs):
    if K8S_AWS_ID_HEADER in request.context:
        request.headers[K8S_AWS_ID_HEADER] = request.context[K8S_AWS_ID_HEADER]


def sts_client(region, session_token):
    session = botocore.session.get_session()
    session.set_config_variable("sts_regional_endpoints", "regional")
    client = session.create_client(
        "sts",
        region_name=region,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        aws_session_token=session_token,
    )
    client.meta.events.register(
        "provide-client-params.sts.GetCallerIdentity", retrieve_k8s_aws_id
    )
    client.meta.events.register(
        "before-sign.sts.GetCallerIdentity", inject_k8s_aws_id_header
    )
    return client


def make_token(region, cluster, session_token, when):
    client = sts_client(region, session_token)
    original = botocore.auth.get_current_datetime
    botocore.auth.get_current_datetime = lambda remove_tzinfo=True: when
    try:
        url = client.generate_presigned_url(
            "get_caller_identity",
            Params={K8S_AWS_ID_HEADER: cluster},
            ExpiresIn=URL_TIMEOUT,
            HttpMethod="GET",
        )
    finally:
        botocore.auth.get_current_datetime = original
    token = TOKEN_PREFIX + base64.urlsafe_b64encode(url.encode("utf-8")).decode(
        "utf-8"
    ).rstrip("=")
    return url, token


def main():
    print(f"// botocore {botocore.__version__}, Python {sys.version.split()[0]}")
    for name, region, cluster, session_token, when in VECTORS:
        url, token = make_token(region, cluster, session_token, when)
        assert url.startswith(f"https://sts.{region}."), url  # regional, not global
        assert "X-Amz-SignedHeaders=host%3Bx-k8s-aws-id" in url, url
        epoch = int(when.replace(tzinfo=datetime.timezone.utc).timestamp())
        print(f"// {name}")
        print(f"//   region  = {region}")
        print(f"//   cluster = {cluster}")
        print(f"//   session = {session_token!r}")
        print(f"//   time    = {when.isoformat()}Z (unix {epoch})")
        print(f"//   url     = {url}")
        print(f"//   token   = {token}")
        print()
    print("// STS hosts")
    for region in HOST_REGIONS:
        url, _ = make_token(region, "c", None, datetime.datetime(2024, 1, 1))
        host = url.split("/")[2]
        print(f'("{region}", "{host}"),')


if __name__ == "__main__":
    main()
