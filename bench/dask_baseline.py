#!/usr/bin/env python3
"""P1 baseline: the same graphs as Strata.Bench's BenchSteps.Chain / FanOut, run by Dask's threaded scheduler.

Raw graph dicts with dask.threaded.get, so Dask runs one task per node (dask.compute on delayed objects would
fuse the linear chain into a single task). Timed inside Python around graph construction + get, like the C#
side times PipelineDefinition.Build + RunAsync. Prints one JSON object (and writes it to --out).
"""
import argparse
import json
import os
import statistics
import time

import dask
import dask.threaded


def inc(x):
    return x + 1


def chain(steps):
    dsk = {"inc-0": (inc, 0)}
    for i in range(1, steps):
        dsk[f"inc-{i}"] = (inc, f"inc-{i - 1}")
    return dsk, f"inc-{steps - 1}"


def fanout(steps):
    dsk = {"source": (inc, 0)}
    keys = []
    for i in range(1, steps):
        dsk[f"inc-{i}"] = (inc, "source")
        keys.append(f"inc-{i}")
    return dsk, keys


def measure(build, steps, reps, workers):
    times = []
    result = None
    for _ in range(reps + 1):  # the first repetition warms up and is dropped
        start = time.perf_counter()
        dsk, keys = build(steps)
        result = dask.threaded.get(dsk, keys, num_workers=workers)
        times.append(time.perf_counter() - start)
    times = times[1:]
    median = statistics.median(times)
    return {
        "steps": steps,
        "reps": reps,
        "median_s": median,
        "best_s": min(times),
        "times_s": times,
        "us_per_task": median / steps * 1e6,
        "check": result if isinstance(result, int) else len(result),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--out")
    args = parser.parse_args()
    out = {
        "dask_version": dask.__version__,
        "num_workers": args.workers,
        "chain": measure(chain, args.steps, args.reps, args.workers),
        "fanout": measure(fanout, args.steps, args.reps, args.workers),
    }
    assert out["chain"]["check"] == args.steps, out["chain"]["check"]
    assert out["fanout"]["check"] == args.steps - 1, out["fanout"]["check"]
    text = json.dumps(out)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
    print(text)


if __name__ == "__main__":
    main()
