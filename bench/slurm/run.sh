#!/usr/bin/env bash
# The Slurm fan-out benchmarks, through both transports (cli and rest) in one run on the local test cluster, each
# against the floor (N bare `sbatch --wrap true` jobs, polling squeue until they are gone) and snakemake 7's cluster mode:
#   P3   10 trivial independent steps (parallelism 10): targets <= 1.0x floor, <= 0.5x snakemake.
#   P3b  a 100-way fan-out of one step at the default parallelism, submitted as one Slurm job array:
#        targets <= 0.5x floor, <= 0.2x snakemake.
# Prints each round, then the medians and the ratios of both figures.
#
#   bench/slurm/run.sh [--rounds N] [--width N] [--wide N] [--transport cli|rest|both]
#
# Installs snakemake and the test cluster's packages if missing, starts the cluster if it is down (and then stops it
# again), builds the benchmark in Release.
set -euo pipefail
cd "$(dirname "$0")/../.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

if ! command -v snakemake >/dev/null; then
    echo "==> installing snakemake" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 snakemake >/dev/null
fi
./eng/slurm/cluster.sh install
if ! ./eng/slurm/cluster.sh status >/dev/null 2>&1; then
    ./eng/slurm/cluster.sh start
    trap './eng/slurm/cluster.sh stop' EXIT
fi
. "${STRATA_SLURM_DIR:-/tmp/strata-slurm}/env"
export USER="${USER:-$(id -un)}"   # snakemake needs it

dotnet build bench/slurm/SlurmBench.csproj -c Release -nologo -clp:ErrorsOnly >&2
dotnet bench/slurm/bin/Release/net10.0/SlurmBench.dll "$@"
