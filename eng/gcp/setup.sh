#!/usr/bin/env bash
# Test prerequisites of the Google Cloud integration, installed idempotently:
#   - @google-cloud/aiplatform (npm) under .test/node_modules: its build/protos/protos.json is Google's description of
#     Vertex AI, which the emulator's committed CustomJob part (emulators/Strata.Emulators.Gcp/protos/) is checked against.
# The Google Cloud CLI (gcloud), which the emulator tests drive, is installed on these machines.
set -euo pipefail
cd "$(dirname "$0")/../.."

AIPLATFORM_VERSION=7.4.0

# Only its files are needed: no install scripts run.
./eng/npm-test-tool.sh @google-cloud/aiplatform "$AIPLATFORM_VERSION" --ignore-scripts
if ! command -v gcloud >/dev/null; then
    echo "warning: gcloud is not installed: the tests that run Google's own CLI against the emulators will fail" >&2
fi
