#!/usr/bin/env bash
# Test prerequisites of the Google Cloud integration, installed idempotently:
#   - @google-cloud/aiplatform (npm) under .test/node_modules: its build/protos/protos.json is Google's description of
#     Vertex AI, which the emulator's committed CustomJob part (emulators/Strata.Emulators.Gcp/protos/) is checked against.
# The Google Cloud CLI (gcloud), which the emulator tests drive, is installed on these machines.
set -euo pipefail
cd "$(dirname "$0")/../.."

AIPLATFORM_VERSION=7.4.0

installed="$(node -p "require('./.test/node_modules/@google-cloud/aiplatform/package.json').version" 2>/dev/null || true)"
if [[ "$installed" != "$AIPLATFORM_VERSION" ]]; then
    echo "Installing: @google-cloud/aiplatform@$AIPLATFORM_VERSION (into .test/)"
    mkdir -p .test
    [[ -f .test/package.json ]] || echo '{ "name": "strata-test-tools", "private": true }' > .test/package.json
    npm install --prefix .test --no-audit --no-fund --loglevel=error --ignore-scripts "@google-cloud/aiplatform@$AIPLATFORM_VERSION" >/dev/null
fi
if ! command -v gcloud >/dev/null; then
    echo "warning: gcloud is not installed: the tests that run Google's own CLI against the emulators will fail" >&2
fi
