#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine. Idempotent: installs only what is missing.
set -euo pipefail

need=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
command -v runuser >/dev/null || need+=(util-linux)
[[ -f /usr/lib/python3/dist-packages/botocore/data/sagemaker/2017-07-24/service-2.json ]] || need+=(python3-botocore)

if ((${#need[@]} > 0)); then
    echo "Installing: ${need[*]}"
    if [[ $(id -u) -ne 0 ]]; then
        echo "error: installing ${need[*]} needs root (sudo $0)" >&2
        exit 1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
