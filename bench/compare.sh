#!/usr/bin/env bash
# Runs graft's workloads (bench_workloads: the reference and the real-architecture ones,
# docs/performance.md) and, when python3-torch is installed, their PyTorch side (bench/pytorch/:
# workloads.py, and real_workloads.py when torchvision is installed too) at 1 and 2 threads, in the
# same invocation, and prints one table: workload, graft ms, PyTorch ms (best of its 1- and
# 2-thread runs), graft ÷ PyTorch, and the fraction of the fp32 limit graft reaches (FLOP per step
# ÷ time ÷ the two-thread FMA peak that bench_gemm measures in this run). The reference workloads'
# FLOP are fixed below; the real ones' are counted from the model by real_workloads.py.
#
#   bash bench/compare.sh                 # builds build/ (Release) if needed
#   BUILD=build-rel REPS=5 FILTER=real_ bash bench/compare.sh
#   TORCH_BENCH="my_twin.py" bash bench/compare.sh   # other PyTorch scripts (same output format)
#   BF16=1 FILTER=gpt_full bash bench/compare.sh       # both sides under bf16 autocast
#                                                      # (bench_workloads --bf16, torch.autocast)
#
# The machine is shared: run it in a quiet moment and quote the medians it prints, never one step.
# Both sides run in this script's environment. Where page faults are costly (a VM), PyTorch's
# steps depend on glibc malloc's thresholds (its large tensors come from fresh mmaps by default);
# to compare with the allocator keeping freed memory, run it under
#   GLIBC_TUNABLES=glibc.malloc.trim_threshold=2000000000:glibc.malloc.mmap_threshold=33554432
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD:-$root/build}
reps=${REPS:-10}
filter=${FILTER:-}
bf16=${BF16:-0}
graft_flags=()
[[ "$bf16" == 1 ]] && graft_flags=(--bf16)
export BENCH_BF16="$bf16"
torch_bench=${TORCH_BENCH:-"$root/bench/pytorch/workloads.py $root/bench/pytorch/real_workloads.py"}
python=${TORCH_PYTHON:-/usr/bin/python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [[ ! -x "$build/bench/bench_workloads" ]]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" -j"$(nproc)" --target bench_workloads bench_gemm >/dev/null
fi

echo "== graft" >&2
"$build/bench/bench_workloads" --reps "$reps" --filter "$filter" "${graft_flags[@]}" | tee "$work/graft.txt" >&2

peak=""
if [[ -x "$build/bench/bench_gemm" ]]; then
  # bench_gemm ends with a summary table; its peak_fma row holds the FMA peak in GFLOP/s.
  peak=$("$build/bench/bench_gemm" --benchmark_filter='peak_fma/threads:2' --benchmark_min_time=0.2 2>/dev/null |
         awk -F'|' '$2 ~ /peak_fma/ && $3 ~ /2/ { gsub(/ /, "", $4); print $4; exit }')
fi

have_torch=0
if "$python" -c 'import torch' 2>/dev/null; then
  for script in $torch_bench; do
    [[ -f "$script" ]] || { echo "compare.sh: no PyTorch script $script: skipped" >&2; continue; }
    if [[ $(basename "$script") == real_workloads.py ]] && ! "$python" -c 'import torchvision' 2>/dev/null; then
      echo "compare.sh: torchvision not found: skipping $script" >&2
      continue
    fi
    have_torch=1
    for t in 1 2; do
      echo "== PyTorch ($(basename "$script")), $t thread(s)" >&2
      # Run from the script's folder, so that it finds its common.py; peak memory per process.
      (cd "$(dirname "$script")" && "$python" -c '
import resource, runpy, sys
sys.path.insert(0, ".")
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
print(f"peak_rss  {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MB")
' "$script" "$t" "$filter") | tee -a "$work/torch$t.txt" >&2
    done
  done
fi
((have_torch)) || echo "compare.sh: no PyTorch side ran ($python without torch, or no script): graft's figures only" >&2

# FLOP per step (docs/performance.md, "The reference workloads"); gemm_N is 2N³.
awk -v peak="$peak" -v have_torch="$have_torch" '
  BEGIN {
    flop["mlp_full_step"] = 2.9e9; flop["mlp_head_only_step"] = 0.96e9; flop["cnn_full_step"] = 4.0e9
    flop["gpt_full_step"] = 43e9
    for (n = 256; n <= 2048; n *= 2) flop["gemm_" n] = 2 * n * n * n
  }
  FILENAME ~ /graft.txt$/ && NF >= 3 && $3 == "ms" { g[$1] = $2; order[++k] = $1 }
  FILENAME ~ /graft.txt$/ && $1 == "peak_rss" { grss = $2 }
  FILENAME ~ /torch[12].txt$/ && NF >= 3 && $3 == "ms" { if (!($1 in t) || $2 < t[$1]) t[$1] = $2 }
  FILENAME ~ /torch[12].txt$/ && $1 == "peak_rss" { if ($2 > trss) trss = $2 }
  FILENAME ~ /torch[12].txt$/ && $1 == "flop" { flop[$2] = $3 }
  END {
    printf "%-22s %10s %10s %8s %10s\n", "workload", "graft ms", "torch ms", "ratio", "of limit"
    for (i = 1; i <= k; ++i) {
      w = order[i]
      tt = (w in t) ? sprintf("%.3f", t[w]) : "-"
      r = (w in t) ? sprintf("%.2f", g[w] / t[w]) : "-"
      f = (peak != "" && (w in flop)) ? sprintf("%.0f%%", 100 * flop[w] / (g[w] / 1e3) / (peak * 1e9)) : "-"
      printf "%-22s %10.3f %10s %8s %10s\n", w, g[w], tt, r, f
    }
    printf "peak resident memory: graft %s MB", grss
    if (have_torch) printf ", PyTorch %s MB (largest of its runs)", trss
    printf "\n"
    if (peak != "") printf "fp32 limit: %s GFLOP/s (bench_gemm peak_fma, 2 threads, this run)\n", peak
  }' "$work/graft.txt" $( ((have_torch)) && echo "$work/torch1.txt $work/torch2.txt")
