#!/usr/bin/env bash
# Test prerequisite of the dashboard's browser tests, installed idempotently: Debian's Chromium, which Playwright drives by its
# executable path (no browser is downloaded).
set -euo pipefail

if [[ ! -x /usr/bin/chromium ]]; then
    echo "Installing: chromium"
    if [[ $(id -u) -ne 0 ]]; then
        echo "error: installing chromium needs root (sudo $0)" >&2
        exit 1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends chromium >/dev/null
fi
