#!/usr/bin/env bash
# Installs missing Debian packages, builds graft and the flagship demo in build/ (Release), and
# runs it: a CNN pretrained on handwritten digits 0-4 is fine-tuned on digits 5-9 from a few
# labelled images per class with several recipes and compared with training from scratch, over
# seeds (examples/finetune_digits.cpp).
# Arguments go to the demo.
#
#   bash scripts/run_demo.sh                       # 1 and 10 shots, 5 seeds; results in finetune_digits_out/
#   bash scripts/run_demo.sh --full                # 1, 5, 10 and 50 shots; 10, 100 and 300 steps
#   bash scripts/run_demo.sh --shots 5 --seeds 3
#   bash scripts/run_demo.sh --help
#
# JOBS=<n> overrides the build parallelism (default: number of CPUs).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
source scripts/common.sh

bash scripts/install_deps.sh
reset_foreign_build_dir build
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"${JOBS:-$(nproc)}" --target finetune_digits
exec build/examples/finetune_digits "$@"
