#!/usr/bin/env bash
# Regenerates the dashboard and site status screenshots in Docs/images from a real run: the browser test (two sites, a
# 12-round job, headless Chromium) saves each page as it checks it.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/install-browser-deps.sh
swift build --build-tests
shots=$(mktemp -d "${TMPDIR:-/tmp}/fedct-screenshots.XXXXXX")
trap 'rm -rf "$shots"' EXIT
FEDCT_SCREENSHOTS="$shots" swift test --skip-build --disable-swift-testing --filter DashboardBrowserTests
mkdir -p Docs/images
for page in consortium jobs job; do cp "$shots/$page.png" "Docs/images/dashboard-$page.png"; done
cp "$shots/site-status.png" Docs/images/site-status.png
echo "wrote Docs/images/dashboard-{consortium,jobs,job}.png and Docs/images/site-status.png"
