#!/usr/bin/env bash
# Installs what graft needs to build, test and benchmark on Debian 12 (bookworm), and only
# what is missing: when everything is already there it touches neither the network nor apt.
#
#   bash scripts/install_deps.sh          # as root (or a user with sudo)
#
# OpenMP comes with g++ (libgomp); nlohmann-json (header-only, parses safetensors headers
# inside the library), oneTBB, Eigen (the test oracle), GoogleTest, Google Benchmark and
# OpenBLAS (what bench_gemm compares against), oneDNN (bench_bf16_gemm's bf16 peer; Debian's
# build looks for OpenCL when CMake loads it, hence ocl-icd-opencl-dev), zlib (reading .csv.gz),
# libpng and libjpeg-turbo (reading and writing image files), ICU (the tokenizers' Unicode data) and Open MPI (graft::dist, data
# parallelism, and mpirun for its tests) are the Debian packages below. Nothing else is downloaded.
set -euo pipefail

packages=(
  g++
  make
  cmake
  nlohmann-json3-dev
  libeigen3-dev
  libtbb-dev
  libgtest-dev
  libbenchmark-dev
  libopenblas-dev
  libdnnl-dev
  ocl-icd-opencl-dev
  zlib1g-dev
  libicu-dev
  libpng-dev
  libjpeg62-turbo-dev
  libopenmpi-dev
  openmpi-bin
)

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  echo "install_deps.sh: dpkg/apt-get not found; this script supports Debian 12. Install by hand:" >&2
  echo "  ${packages[*]}" >&2
  exit 1
fi

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "installed" ]] || missing+=("$pkg")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install_deps.sh: all dependencies present (${packages[*]})"
  exit 0
fi

if [[ $(id -u) -eq 0 ]]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "install_deps.sh: missing ${missing[*]}; run this script as root to install them" >&2
  exit 1
fi

echo "install_deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -q
"${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
