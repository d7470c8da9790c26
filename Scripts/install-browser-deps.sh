#!/usr/bin/env bash
# Installs what the dashboard's browser test needs, only what is missing: Debian's chromium, chromium-driver and
# libnss3-tools (certutil, to trust the test consortium's CA), and Selenium from PyPI for python3.
set -euo pipefail

missing=()
for pkg in chromium chromium-driver libnss3-tools; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "Installing Debian packages for the browser test: ${missing[*]}"
  if [[ $(id -u) -eq 0 ]]; then
    runner=()
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    runner=(sudo)
  else
    echo "error: missing Debian packages and no root rights. Ask an administrator to run:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${runner[@]}" apt-get update -q
  "${runner[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if ! python3 -c 'import selenium' 2>/dev/null; then
  echo "Installing selenium for $(command -v python3) from PyPI"
  # A Debian-managed python3 refuses plain pip installs (PEP 668); the test's own python3 then takes it as the user's.
  python3 -m pip install -q 'selenium>=4.10' || python3 -m pip install -q --user --break-system-packages 'selenium>=4.10'
fi
