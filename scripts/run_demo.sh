#!/usr/bin/env bash
# Installs missing Debian packages, builds graft and the demo in build/ (Release), and runs
# the demo: a small MLP trained on a synthetic spiral. Arguments go to the demo.
#
#   bash scripts/run_demo.sh                    # 150 epochs
#   bash scripts/run_demo.sh --epochs 300 --seed 7
#
# JOBS=<n> overrides the build parallelism (default: number of CPUs).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
source scripts/common.sh

bash scripts/install_deps.sh
reset_foreign_build_dir build
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"${JOBS:-$(nproc)}" --target train_demo
exec build/examples/train_demo "$@"
