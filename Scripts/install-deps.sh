#!/usr/bin/env bash
# Installs the Debian packages FedCT builds and runs against, only those missing; explains what to do when not root.
# Modes: build (default: compile and test), protoc (the code generator only), runtime (what the built daemons load; the
# container images' run stage uses it, and the container test checks it against `ldd` of the built executables).
set -euo pipefail

# Packages by purpose; the build and tests need all of them (python3-venv: the deployment tests' kubernetes-validate
# environment), `protoc` only the code generator.
build_packages=(
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc libssl-dev
  libtorch-dev libgloo-dev libopenblas0-openmp libnifti2-dev libgdcm-dev zlib1g-dev libsqlite3-dev pkg-config
  python3-venv
)
protoc_packages=(protobuf-compiler)
# The packages of the shared libraries the daemons built with --static-swift-stdlib name (Debian 12; libc6, libstdc++6
# and libgcc-s1 are in every Debian image; what those libraries load in turn comes with them as apt dependencies).
runtime_packages=(
  libgrpc++1.51 libgrpc29 libabsl20220623 libtorch1.13 libgloo0 libopenblas0-openmp libnifti2-2 libznz3 libgdcm3.0 zlib1g
  libsqlite3-0
)

case "${1:-build}" in
  build) wanted=("${build_packages[@]}") ;;
  protoc) wanted=("${protoc_packages[@]}") ;;
  runtime) wanted=("${runtime_packages[@]}") ;;
  *) echo "usage: $0 [build|protoc|runtime]" >&2; exit 2 ;;
esac

missing=()
for pkg in "${wanted[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done

if [[ "${1:-build}" != runtime ]] && ! command -v swift >/dev/null; then
  echo "error: no Swift toolchain on PATH. Install Swift 6.x (swift.org) and put its usr/bin on PATH." >&2
  exit 1
fi

[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "Installing Debian packages: ${missing[*]}"
if [[ $(id -u) -eq 0 ]]; then
  runner=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  runner=(sudo)
else
  echo "error: missing Debian packages and no root rights. Ask an administrator to run:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  echo "then run this command again." >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${runner[@]}" apt-get update -q
"${runner[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
