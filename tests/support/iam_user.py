"""Makes an IAM user whose only permissions are the given policy documents
(a JSON document, or a list of them, as `bp permissions` prints), then
turns moto's IAM enforcement on: every request after this one must be
signed by a known user and allowed by its policies. Prints the user's
access key id and secret.

usage: iam_user.py ENDPOINT NAME POLICY.json
       iam_user.py ENDPOINT --off     (enforcement off again, for checks)
"""
import json
import sys
import urllib.request

import boto3


def enforce(endpoint, count):
    # moto counts requests before it checks them: "inf" never checks,
    # 0 checks every one from now on.
    req = urllib.request.Request(endpoint + "/moto-api/reset-auth", data=count.encode(),
                                 headers={"Content-Type": "text/plain"}, method="POST")
    urllib.request.urlopen(req).read()


endpoint = sys.argv[1]
enforce(endpoint, "inf")
if sys.argv[2] == "--off":
    sys.exit(0)
name, policy = sys.argv[2], sys.argv[3]
iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id="t", aws_secret_access_key="t")
docs = json.load(open(policy))
if isinstance(docs, dict):
    docs = [docs]
iam.create_user(UserName=name)
for i, doc in enumerate(docs):
    arn = iam.create_policy(PolicyName=f"{name}-{i + 1}", PolicyDocument=json.dumps(doc))["Policy"]["Arn"]
    iam.attach_user_policy(UserName=name, PolicyArn=arn)
key = iam.create_access_key(UserName=name)["AccessKey"]
print(json.dumps({"id": key["AccessKeyId"], "secret": key["SecretAccessKey"]}))
enforce(endpoint, "0")
