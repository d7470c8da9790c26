#!/usr/bin/env bash
# Installs the Debian packages FedCT builds and runs against, only those missing; explains what to do when not root.
set -euo pipefail

# Packages by purpose; the build needs all of them, `protoc` only the code generator.
build_packages=(
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc libssl-dev
  libtorch-dev libopenblas0-openmp libnifti2-dev libgdcm-dev zlib1g-dev libsqlite3-dev pkg-config
)
protoc_packages=(protobuf-compiler)

case "${1:-build}" in
  build) wanted=("${build_packages[@]}") ;;
  protoc) wanted=("${protoc_packages[@]}") ;;
  *) echo "usage: $0 [build|protoc]" >&2; exit 2 ;;
esac

missing=()
for pkg in "${wanted[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done

if ! command -v swift >/dev/null; then
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
