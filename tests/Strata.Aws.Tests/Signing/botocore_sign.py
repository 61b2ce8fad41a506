#!/usr/bin/python3
"""Signs requests with botocore's SigV4Auth, the signer of the AWS CLI and boto3: an independent check of the .NET signer.

stdin: a JSON list of requests {method, url, headers: {name: value}, body_base64, service, region,
access_key, secret_key, token (or null), amz_date: "YYYYMMDDTHHMMSSZ"}.
stdout: a JSON list of {authorization, canonical_request, headers} in the same order."""
import base64
import datetime
import json
import sys
from unittest import mock

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

results = []
for r in json.load(sys.stdin):
    request = AWSRequest(method=r["method"], url=r["url"], headers=r["headers"], data=base64.b64decode(r["body_base64"]))
    auth = SigV4Auth(Credentials(r["access_key"], r["secret_key"], r.get("token")), r["service"], r["region"])
    when = datetime.datetime.strptime(r["amz_date"], "%Y%m%dT%H%M%SZ")
    with mock.patch("botocore.auth.datetime") as clock:
        clock.datetime.utcnow.return_value = when
        auth.add_auth(request)
    authorization = request.headers["Authorization"]
    del request.headers["Authorization"]
    results.append({
        "authorization": authorization,
        "canonical_request": auth.canonical_request(request),
        "headers": {k: v for k, v in request.headers.items()},
    })
json.dump(results, sys.stdout)
