#!/usr/bin/env bash
# Provisions an example consortium with `fedctl provision --kubernetes`, puts each participant's kit Secret into its
# overlay (a copy of Deployments/kubernetes) and runs Scripts/check-kubernetes.py on it: render, schema validation,
# kit byte for byte, manifests vs kit. kubernetes-validate (PyPI) is installed into .build/deploy-venv when missing.
# Usage: Scripts/check-kubernetes.sh [path/to/fedctl]   (default: .build/debug/fedctl)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
fedctl="${1:-$root/.build/debug/fedctl}"
[[ -x "$fedctl" ]] || { echo "error: $fedctl is not built; run swift build first" >&2; exit 1; }
venv="${FEDCT_DEPLOY_VENV:-$root/.build/deploy-venv}"
if ! "$venv/bin/python" -c "import kubernetes_validate, yaml" 2>/dev/null; then
  python3 -m venv "$venv" || { echo "error: python3 -m venv failed: install python3-venv (Scripts/install-deps.sh does)" >&2; exit 1; }
  "$venv/bin/pip" install --quiet --disable-pip-version-check "kubernetes-validate==1.37.0"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The participants the committed overlays are written for (Deployments/kubernetes/overlays/<name>).
"$fedctl" provision --out "$work/kits" --consortium example --coordinator-host fedct.example.org \
  --site hospital-a --site hospital-b --kubernetes >/dev/null
cp -r "$root/Deployments/kubernetes" "$work/kubernetes"
for overlay in "$work"/kubernetes/overlays/*/; do
  name=$(basename "$overlay")
  cp "$work/kits/$name/kubernetes/kit-secret.yaml" "$overlay/kit-secret.yaml"
done
"$venv/bin/python" "$root/Scripts/check-kubernetes.py" "$work/kubernetes" "$work/kits"
