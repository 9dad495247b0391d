#!/usr/bin/env bash
# graft's tokenizers next to the JS reference, in one run: bench_tokenizers (one thread, and
# encode_batch on one and on all threads) and bench/tokenizers_js_bench.mjs on the same texts,
# then one table of MB/s (wall clock, and per CPU-second: of the calling thread for encode, of
# the whole process for encode_batch and for the JS reference).
#   bash bench/tokenizers_compare.sh NODE_MODULES_DIR      (BUILD=build by default)
set -euo pipefail
modules=${1:?usage: bash bench/tokenizers_compare.sh NODE_MODULES_DIR}
build=${BUILD:-build}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$build/bench/bench_tokenizers" --benchmark_format=json --benchmark_repetitions="${REPS:-3}" \
    --benchmark_report_aggregates_only=true >"$out/graft.json"
node "$(dirname "$0")/tokenizers_js_bench.mjs" "$modules" >"$out/js.txt"
python3 - "$out/graft.json" "$out/js.txt" <<'PY'
import json, re, sys
graft = {}
for b in json.load(open(sys.argv[1]))["benchmarks"]:
    if b.get("aggregate_name") != "median":
        continue
    name = b["run_name"].replace("/real_time", "").replace("/process_time", "")
    graft[name] = (b["bytes_per_second"] / 1e6, b["bytes_per_second"] * b["real_time"] / b["cpu_time"] / 1e6)
js = {}
for line in open(sys.argv[2]):
    m = re.match(r"js_encode_one_thread/(\S+)\s+([\d.]+) MB/s\s+([\d.]+) MB/cpu-s", line)
    if m:
        js[m.group(1)] = (float(m.group(2)), float(m.group(3)))
print("| tokenizer | graft 1 thread | JS 1 thread | ratio | graft per CPU-s | JS per CPU-s | ratio | "
      "batch, 1 thread | batch, all threads | scaling | batch padded, all threads | "
      "batch per CPU-s, 1 thread | batch per CPU-s, all threads |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for name in ["gpt2", "wordpiece", "byte_fallback", "unigram"]:
    one, one_cpu = graft[f"encode_one_thread/{name}"]
    j, j_cpu = js[name]
    b1, b1_cpu = graft[f"encode_batch/threads_1/{name}"]
    ball, ball_cpu = graft[f"encode_batch/threads_all/{name}"]
    padded = graft[f"encode_batch/padded_threads_all/{name}"][0]
    print(f"| {name} | {one:.2f} | {j:.2f} | {one / j:.1f}× | {one_cpu:.1f} | {j_cpu:.2f} | {one_cpu / j_cpu:.1f}× | "
          f"{b1:.2f} | {ball:.2f} | {ball / b1:.2f}× | {padded:.2f} | {b1_cpu:.1f} | {ball_cpu:.1f} |")
PY
