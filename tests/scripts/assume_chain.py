"""The runbook's chain from a second client: with account A's profile, assume
the instance role, then the bucket owner's role, and put an object with
`bucket-owner-full-control`, as a Databricks cluster would.

Usage: assume_chain.py <profile> <role-a-arn> <role-b-arn> <bucket> <key>
The AWS profile files and the endpoint come from the environment.
Prints one JSON object with the identities seen along the way.
"""

import json
import sys

import boto3
from botocore.config import Config


def assume(session_credentials, role_arn, name):
    sts = boto3.client("sts", **session_credentials)
    out = sts.assume_role(RoleArn=role_arn, RoleSessionName=name)
    creds = out["Credentials"]
    return {
        "aws_access_key_id": creds["AccessKeyId"],
        "aws_secret_access_key": creds["SecretAccessKey"],
        "aws_session_token": creds["SessionToken"],
        "region_name": session_credentials["region_name"],
    }, out["AssumedRoleUser"]["Arn"]


def main():
    profile, role_a, role_b, bucket, key = sys.argv[1:6]
    session = boto3.Session(profile_name=profile)
    base = session.get_credentials().get_frozen_credentials()
    # botocore reads AWS_DEFAULT_REGION, not AWS_REGION: take the profile's region.
    region = {"region_name": session.region_name or "us-east-1"}
    start = {
        "aws_access_key_id": base.access_key,
        "aws_secret_access_key": base.secret_key,
        "aws_session_token": base.token,
        **region,
    }
    as_a, arn_a = assume(start, role_a, "xacct-instance")
    as_b, arn_b = assume(as_a, role_b, "xacct-s3a")
    s3 = boto3.client("s3", config=Config(s3={"addressing_style": "path"}), **as_b)
    s3.put_object(Bucket=bucket, Key=key, Body=b"written through the AssumeRole chain", ACL="bucket-owner-full-control")
    print(json.dumps({"role_a_session": arn_a, "role_b_session": arn_b, "bucket": bucket, "key": key}))


if __name__ == "__main__":
    main()
