"""A role's documents as a second client reads them: with the account's profile, the trust
policy and one inline policy of the role.

Usage: role_documents.py <profile> <role-name> <inline-policy-name>
The AWS profile files and the endpoint come from the environment.
Prints one JSON object: {"trust": <document>, "policy": <document>}.
"""

import json
import sys

import boto3


def main():
    profile, role, policy = sys.argv[1:4]
    session = boto3.Session(profile_name=profile)
    iam = session.client("iam", region_name=session.region_name or "us-east-1")
    trust = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    inline = iam.get_role_policy(RoleName=role, PolicyName=policy)["PolicyDocument"]
    print(json.dumps({"trust": trust, "policy": inline}))


if __name__ == "__main__":
    main()
