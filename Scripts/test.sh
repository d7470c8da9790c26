#!/usr/bin/env bash
# Runs the whole test suite: installs missing Debian packages, checks generated code is current, builds, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/install-deps.sh build
Scripts/install-browser-deps.sh
Scripts/generate-protos.sh --check
# Executables are built too: the multi-process tests start them.
swift build --build-tests
swift test --skip-build --disable-swift-testing "$@"
