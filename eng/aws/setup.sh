#!/usr/bin/env bash
# Test prerequisites of the AWS integration, installed idempotently:
#   - python3-botocore (Debian): AWS's service models, which the SageMaker/CloudWatch Logs emulator validates
#     requests against, and an independent SigV4 signer the signer tests compare with;
#   - s3rver (npm) under .test/node_modules: the S3-compatible server the S3 artifact store tests run against.
set -euo pipefail
cd "$(dirname "$0")/../.."

S3RVER_VERSION=3.7.1

if [[ ! -f /usr/lib/python3/dist-packages/botocore/data/sagemaker/2017-07-24/service-2.json ]]; then
    echo "Installing: python3-botocore"
    if [[ $(id -u) -ne 0 ]]; then
        echo "error: installing python3-botocore needs root (sudo $0)" >&2
        exit 1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends python3-botocore >/dev/null
fi

./eng/npm-test-tool.sh s3rver "$S3RVER_VERSION"
