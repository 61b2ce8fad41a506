#!/usr/bin/env bash
# Installs what the benchmarks compare against: Dask (Debian's python3-dask) for P1. Idempotent; run by the harness.
set -euo pipefail
python="${STRATA_BENCH_PYTHON:-/usr/bin/python3}"
if "$python" -c 'import dask, dask.threaded' 2>/dev/null; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "bench/setup.sh: python3-dask is missing; install it with: sudo apt-get install -y python3-dask" >&2
    exit 1
fi
echo "==> installing python3-dask" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq python3-dask >&2
"$python" -c 'import dask, dask.threaded'
