#!/usr/bin/env bash
# The whole test suite: installs what the tests need, builds once, runs every test project in parallel.
# Integration tests start their own servers (a private PostgreSQL) and stop them when they finish.
set -euo pipefail
cd "$(dirname "$0")"

configuration="${CONFIGURATION:-Release}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

./eng/install-prerequisites.sh
./eng/aws/setup.sh

echo "==> build ($configuration)"
dotnet build Strata.slnx -c "$configuration" -nologo -clp:ErrorsOnly

echo "==> test"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e
dotnet test Strata.slnx -c "$configuration" --no-build -nologo 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# One closing line over all test projects.
grep -E '^(Passed|Failed)!' "$log" | sed -E 's/.*Failed: *([0-9]+), Passed: *([0-9]+), Skipped: *([0-9]+).*/\1 \2 \3/' |
    awk '{ f += $1; p += $2; s += $3 } END { printf "Tests: %d passed, %d failed, %d skipped\n", p, f, s }'
exit "$status"
