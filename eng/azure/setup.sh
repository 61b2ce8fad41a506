#!/usr/bin/env bash
# Test prerequisites of the Azure integration, installed idempotently:
#   - Azurite (npm) under .test/node_modules: the Azure Blob Storage server the azure artifact store tests run against.
set -euo pipefail
cd "$(dirname "$0")/../.."

AZURITE_VERSION=3.35.0

./eng/npm-test-tool.sh azurite "$AZURITE_VERSION"
