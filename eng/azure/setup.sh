#!/usr/bin/env bash
# Test prerequisites of the Azure integration, installed idempotently:
#   - Azurite (npm) under .test/node_modules: the Azure Blob Storage server the azure artifact store tests run against.
set -euo pipefail
cd "$(dirname "$0")/../.."

AZURITE_VERSION=3.35.0

installed="$(node -p "require('./.test/node_modules/azurite/package.json').version" 2>/dev/null || true)"
if [[ "$installed" != "$AZURITE_VERSION" ]]; then
    echo "Installing: azurite@$AZURITE_VERSION (into .test/)"
    mkdir -p .test
    [[ -f .test/package.json ]] || echo '{ "name": "strata-test-tools", "private": true }' > .test/package.json
    npm install --prefix .test --no-audit --no-fund --loglevel=error "azurite@$AZURITE_VERSION" >/dev/null
fi
