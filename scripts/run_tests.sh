#!/usr/bin/env bash
# Builds graft and runs every test twice: a Release build (build/: library, tests, benchmarks,
# examples) and an AddressSanitizer + UndefinedBehaviorSanitizer build (build-asan/: library
# and tests). Installs missing Debian packages first. Exits non-zero on the first failure.
#
#   bash scripts/run_tests.sh
#
# JOBS=<n> overrides the parallelism (default: number of CPUs).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
source scripts/common.sh
jobs=${JOBS:-$(nproc)}

phase_start=0
phase() {
  phase_start=$SECONDS
  printf '\n==== %s ====\n' "$1"
}
phase_done() { printf -- '---- done in %ds\n' $((SECONDS - phase_start)); }

phase "dependencies"
bash scripts/install_deps.sh
phase_done

phase "Release build (build/)"
reset_foreign_build_dir build
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DGRAFT_BUILD_TESTS=ON -DGRAFT_BUILD_BENCH=ON \
  -DGRAFT_BUILD_EXAMPLES=ON -DGRAFT_SANITIZE=OFF
cmake --build build -j"$jobs"
phase_done

phase "Release tests"
ctest --test-dir build --output-on-failure -j2
phase_done

phase "sanitizer build (build-asan/, -fsanitize=address,undefined, -O1)"
reset_foreign_build_dir build-asan
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-g -O1" -DGRAFT_SANITIZE=ON \
  -DGRAFT_BUILD_TESTS=ON -DGRAFT_BUILD_BENCH=OFF -DGRAFT_BUILD_EXAMPLES=OFF
cmake --build build-asan -j"$jobs"
phase_done

phase "sanitizer tests"
# consumer_add_subdirectory (label rebuilds-graft) only re-checks the CMake integration the
# Release pass already covered, at the cost of compiling the library a fourth time; the
# installed-package consumer still runs here, linked against the instrumented library. The docs
# checks (label docs) run the examples and benchmarks the Release pass built; this build has none.
ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -j2 -LE 'rebuilds-graft|docs'
phase_done

printf '\nall tests passed (%ds)\n' "$SECONDS"
