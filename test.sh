#!/usr/bin/env bash
# The whole test suite: installs what the tests need, builds once, runs every test project in parallel.
# Integration tests start their own servers (a private PostgreSQL) and stop them when they finish.
set -euo pipefail
cd "$(dirname "$0")"

configuration="${CONFIGURATION:-Release}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

./eng/install-prerequisites.sh
./eng/aws/setup.sh
./eng/slurm/cluster.sh install

# The Slurm test cluster starts while the build runs, and stops (by pid file) however this script ends.
echo "==> Slurm test cluster"
./eng/slurm/cluster.sh start &
slurm_start=$!
trap 'wait "$slurm_start" 2>/dev/null; ./eng/slurm/cluster.sh stop' EXIT

echo "==> build ($configuration)"
dotnet build Strata.slnx -c "$configuration" -nologo -clp:ErrorsOnly

wait "$slurm_start"
. "${STRATA_SLURM_DIR:-/tmp/strata-slurm}/env"

echo "==> test"
log="$(mktemp)"
trap 'rm -f "$log"; ./eng/slurm/cluster.sh stop' EXIT
set +e
dotnet test Strata.slnx -c "$configuration" --no-build -nologo 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# One closing line over all test projects.
grep -E '^(Passed|Failed)!' "$log" | sed -E 's/.*Failed: *([0-9]+), Passed: *([0-9]+), Skipped: *([0-9]+).*/\1 \2 \3/' |
    awk '{ f += $1; p += $2; s += $3 } END { printf "Tests: %d passed, %d failed, %d skipped\n", p, f, s }'
exit "$status"
