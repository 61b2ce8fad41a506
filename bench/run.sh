#!/usr/bin/env bash
# The performance benchmarks. `bench/run.sh` runs them all and prints the table; `bench/run.sh P4` runs one
# (several names may be given; `--list` lists them, `--reps N` changes the repetitions, `--keep` keeps the work dir).
# Builds Release once, then runs each measurement in its own process. Figures go to bench/results.json.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

echo "==> build (Release)" >&2
dotnet build bench/Strata.Bench -c Release -p:StrataBenchBuild=true -nologo -clp:ErrorsOnly -v:q >&2
dotnet build src/Strata.Cli -c Release -nologo -clp:ErrorsOnly -v:q >&2
dotnet build examples/Quickstart -c Release -nologo -clp:ErrorsOnly -v:q >&2   # P7 builds its job image
dotnet build bench/Dashboard -c Release -nologo -clp:ErrorsOnly -v:q >&2       # D drives Chromium through Playwright
./eng/dashboard/setup.sh >&2                                                    # D needs Debian's chromium

exec dotnet bench/Strata.Bench/bin/Release/net10.0/Strata.Bench.dll "$@"
