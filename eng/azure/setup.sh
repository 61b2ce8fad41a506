#!/usr/bin/env bash
# Test prerequisites of the Azure integration, installed idempotently:
#   - Azurite (npm) under .test/node_modules: the Azure Blob Storage server the azure artifact store tests run against
#     (plain http, and HTTPS with Entra ID tokens for the Azure ML emulator's jobs).
#   - Debian's python3-azure: the Azure ML Python SDK (azure-ai-ml 1.4.0) and azure-identity, Microsoft's own clients the
#     Azure ML emulator is tested with (tests/Strata.Emulators.Azure.Tests; its pydash dependency is stood in for there).
set -euo pipefail
cd "$(dirname "$0")/../.."

AZURITE_VERSION=3.35.0

./eng/npm-test-tool.sh azurite "$AZURITE_VERSION"

# (Checked by file: importing azure.ai.ml fails here without pydash.)
if [[ ! -f /usr/lib/python3/dist-packages/azure/ai/ml/__init__.py || ! -f /usr/lib/python3/dist-packages/azure/identity/__init__.py ]]; then
    echo "Installing: python3-azure (azure-ai-ml, azure-identity)"
    if [[ $(id -u) -ne 0 ]]; then
        echo "error: installing python3-azure needs root (sudo $0)" >&2
        exit 1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends python3-azure >/dev/null
fi
