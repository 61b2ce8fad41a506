#!/usr/bin/env bash
# The whole test suite: installs what the tests need, builds once, runs every test project in parallel.
# Integration tests start their own servers (a private PostgreSQL) and stop them when they finish; the Slurm
# cluster and the container services (registry, podman's Docker API, base image) run for the whole suite.
set -euo pipefail
cd "$(dirname "$0")"

configuration="${CONFIGURATION:-Release}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

./eng/install-prerequisites.sh
./eng/aws/setup.sh
./eng/azure/setup.sh
./eng/gcp/setup.sh
./eng/dashboard/setup.sh
./eng/slurm/cluster.sh install
./eng/containers/services.sh install

# The Slurm test cluster and the container services start while the build runs, and stop (by pid file) however
# this script ends. `|| true`: set -e also holds in the trap, and a failed start must not skip the stops.
echo "==> Slurm test cluster, container services"
./eng/slurm/cluster.sh start &
slurm_start=$!
./eng/containers/services.sh start &
containers_start=$!
stop_services() {
    wait "$slurm_start" 2>/dev/null || true
    wait "$containers_start" 2>/dev/null || true
    ./eng/slurm/cluster.sh stop || true
    ./eng/containers/services.sh stop || true
}
trap stop_services EXIT

echo "==> build ($configuration)"
dotnet build Strata.slnx -c "$configuration" -nologo -clp:ErrorsOnly

wait "$slurm_start"
wait "$containers_start"
. "${STRATA_SLURM_DIR:-/tmp/strata-slurm}/env"
. "${STRATA_CONTAINERS_DIR:-/tmp/strata-containers}/env"

echo "==> test"
log="$(mktemp)"
trap 'rm -f "$log"; stop_services' EXIT
set +e
dotnet test Strata.slnx -c "$configuration" --no-build -nologo 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# One closing line over all test projects.
grep -E '^(Passed|Failed)!' "$log" | sed -E 's/.*Failed: *([0-9]+), Passed: *([0-9]+), Skipped: *([0-9]+).*/\1 \2 \3/' |
    awk '{ f += $1; p += $2; s += $3 } END { printf "Tests: %d passed, %d failed, %d skipped\n", p, f, s }'
exit "$status"
