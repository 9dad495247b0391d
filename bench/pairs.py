#!/usr/bin/env python3
"""Compares Google Benchmark binaries on a shared machine: every case runs on every binary back to
back (so each case's binaries see the same load), round after round, and the table gives per case
the median over rounds of each run's median, the median of the per-round ratios to the first
binary, and the same in GFLOP per CPU-second of the benchmark thread (stable when a core is shared).

  python3 bench/pairs.py ROUNDS CASE[,CASE...] OUT_PREFIX BINARY[:ENV=V,...] BINARY...
  cp build/bench/bench_gemm /tmp/bench_gemm_old   # before the change; rebuild; then:
  python3 bench/pairs.py 3 'graft/square_1024/threads:1,graft/mlp_fwd_NN/threads:1' /tmp/p \\
      /tmp/bench_gemm_old build/bench/bench_gemm build/bench/bench_gemm:GRAFT_ISA=avx2

Each CASE is a --benchmark_filter regex; the benchmarks must report a GFLOP/s counter.
"""
import collections
import json
import os
import statistics
import subprocess
import sys

rounds, cases, out = int(sys.argv[1]), sys.argv[2].split(","), sys.argv[3]
bins = sys.argv[4:]
wall = collections.defaultdict(lambda: collections.defaultdict(list))
cpu = collections.defaultdict(lambda: collections.defaultdict(list))
for r in range(rounds):
    for case in cases:
        for i, spec in enumerate(bins):
            binary, _, envs = spec.partition(":")
            env = dict(os.environ)
            for kv in filter(None, envs.split(",")):
                key, value = kv.split("=", 1)
                env[key] = value
            path = f"{out}_{i}.json"
            subprocess.run([binary, f"--benchmark_filter={case}", "--benchmark_repetitions=5",
                            "--benchmark_report_aggregates_only=true", f"--benchmark_out={path}",
                            "--benchmark_out_format=json"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           check=True, env=env)
            for bm in json.load(open(path))["benchmarks"]:
                if bm.get("aggregate_name") == "median":
                    wall[bm["run_name"]][spec].append(bm["GFLOP/s"])
                    cpu[bm["run_name"]][spec].append(bm["GFLOP/s"] * bm["real_time"] / bm["cpu_time"])
    print(f"round {r} done", file=sys.stderr, flush=True)
for title, table in (("wall-clock GFLOP/s", wall), ("GFLOP per CPU-second (benchmark thread)", cpu)):
    print(title)
    print("case | " + " | ".join(bins) + " | ratios to the first (median of per-round ratios) | max")
    for case, runs in table.items():
        medians = [statistics.median(runs[b]) for b in bins]
        ratios = [statistics.median([x / y for x, y in zip(runs[b], runs[bins[0]])]) for b in bins[1:]]
        print(f"{case} | " + " | ".join(f"{m:.1f}" for m in medians) + " | " + " | ".join(f"{x:.3f}" for x in ratios)
              + " | max " + " ".join(f"{max(runs[b]):.1f}" for b in bins)
              + "   runs: " + " ; ".join(",".join(f"{x:.0f}" for x in runs[b]) for b in bins), flush=True)
