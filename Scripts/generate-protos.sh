#!/usr/bin/env bash
# Regenerates Sources/FedCTProto from Protos/ with protoc + protoc-gen-swift; `--check` fails if the committed code is stale.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/install-deps.sh protoc

out=Sources/FedCTProto
if [[ "${1:-}" == "--check" ]]; then
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
fi

# The plugin comes from the same swift-protobuf version the package depends on.
swift build --product protoc-gen-swift >/dev/null
plugin="$(swift build --show-bin-path)/protoc-gen-swift"

protoc --plugin=protoc-gen-swift="$plugin" \
  --swift_opt=Visibility=Public --swift_opt=FileNaming=PathToUnderscores \
  --swift_out="$out" -I Protos $(find Protos -name '*.proto' | sort)

if [[ "${1:-}" == "--check" ]]; then
  if ! diff -ru Sources/FedCTProto "$out" --exclude='*.md' >/dev/null; then
    diff -ru Sources/FedCTProto "$out" --exclude='*.md' | head -40
    echo "error: Sources/FedCTProto is stale; run Scripts/generate-protos.sh and commit the result." >&2
    exit 1
  fi
  echo "generated protobuf code is current"
fi
