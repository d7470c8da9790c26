#!/usr/bin/env bash
# Site memory benchmark: peak RSS of one fedct-site over its idle RSS during one training round of a ≈130 MB model
# (download, load, train, delta, encode, upload), plain and secure, printed as multiples of the model's size beside the
# figure this script measured before the upload was built in place (commit 5f9d631, debug build, same machine: 10.17×
# plain, 11.20× secure — a recorded figure, not one measured in this run; the default build is debug to match it).
#
#   BENCH_WIDTH (96: resnet3d-10, ≈32 M parameters ≈ 130 MB)  BENCH_SECAGG ("0 1": plain, then secure)
#   BENCH_CONFIGURATION (debug)  BENCH_BIN (a folder of fedct-site, fedct-coordinator and fedctl to use instead of
#   building)  BENCH_DIR (a temporary folder; kept)
#
# Two sites take part (secure aggregation needs two); site-1 is measured. Its idle figure is taken once it has joined,
# then its high-water mark is reset (`echo 5 > /proc/PID/clear_refs`) before the job is submitted, so VmHWM covers
# exactly the round. The model's own training state (parameters, gradients, AdamW's two moments: 4 × the model in
# libtorch) is part of any round's peak; what the site adds around it is the rest.
set -euo pipefail
cd "$(dirname "$0")/.."
width=${BENCH_WIDTH:-96}
modes=${BENCH_SECAGG:-"0 1"}
configuration=${BENCH_CONFIGURATION:-debug}
work=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/fedct-bench-site-memory.XXXXXX")}

if [[ -n ${BENCH_BIN:-} ]]; then
  bin=$BENCH_BIN  # executables built earlier (e.g. of another commit, for a before/after pair)
else
  Scripts/install-deps.sh build >/dev/null
  swift build -c "$configuration" >/dev/null
  bin=$(swift build -c "$configuration" --show-bin-path)
fi
mkdir -p "$work"
[[ -d "$work/pki" ]] || "$bin/fedctl" provision --out "$work/pki" --consortium bench --site site-1 --site site-2 --admin admin >/dev/null
[[ -d "$work/data" ]] || "$bin/fedctl" synth --sites 2 --patients 4 --size 16 --seed 3 --out "$work/data" >/dev/null

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
kib() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/status" 2>/dev/null || true; }

run() {  # $1: 0 plain, 1 secure aggregation
  local mode=$1 secure=false; [[ $mode == 1 ]] && secure=true
  local dir="$work/secagg-$mode"
  rm -rf "$dir"; mkdir -p "$dir/logs"
  pids=()
  cat > "$dir/coordinator.yaml" <<YAML
listen: 127.0.0.1:0
port_file: $dir/coordinator.port
state_dir: $dir/state
tls: {ca: $work/pki/coordinator/ca.pem, cert: $work/pki/coordinator/cert.pem, key: $work/pki/coordinator/key.pem}
YAML
  "$bin/fedct-coordinator" --config "$dir/coordinator.yaml" > "$dir/logs/coordinator.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do [[ -s "$dir/coordinator.port" ]] && break; sleep 0.1; done
  local address="localhost:$(cat "$dir/coordinator.port")"
  local admin=(--coordinator "$address" --credentials "$work/pki/admin")
  local site=""
  for name in site-1 site-2; do
    cat > "$dir/$name.yaml" <<YAML
coordinator: {address: "$address"}
tls: {ca: $work/pki/$name/ca.pem, cert: $work/pki/$name/cert.pem, key: $work/pki/$name/key.pem}
data: {dir: $work/data/$name}
threads: 1
state_dir: $dir/state-$name
privacy: {require_secure_aggregation: $secure}
YAML
    "$bin/fedct-site" --config "$dir/$name.yaml" --exit-after-job > "$dir/logs/$name.log" 2>&1 &
    pids+=($!)
    [[ $name == site-1 ]] && site=$!
  done
  for _ in $(seq 1 300); do (( $(cat "$dir"/logs/site-*.log | grep -c "joined the coordinator") >= 2 )) && break; sleep 0.1; done
  sleep 1
  local idle_kib; idle_kib=$(kib "$site" VmRSS)
  echo 5 > "/proc/$site/clear_refs"
  cat > "$dir/job.yaml" <<YAML
name: bench-site-memory
rounds: 1
min_sites: 2
seed: 5
round_deadline_seconds: 1800
encoder: {architecture: resnet3d, depth: 10, width: $width, stem_stride: 1, norm: group}
tte: {task_codes: [DEATH, PE, PH], piece_edges_days: [90, 365, 1095], rank: 4}
training: {local_epochs: 1, batch_size: 4, learning_rate: 0.001, weight_decay: 0, volume_size: 16}
secure_aggregation: {enabled: $secure, clip_norm: 20, max_examples_per_site: 100, step_timeout_seconds: 1800}
YAML
  local job started peak_kib=0 hwm
  started=$(date +%s.%N)
  job=$("$bin/fedctl" job submit "${admin[@]}" "$dir/job.yaml")
  # The site exits after the job: its high-water mark is read until then (an exited child's status has no Vm lines).
  while hwm=$(kib "$site" VmHWM); [[ -n $hwm ]]; do
    (( hwm > peak_kib )) && peak_kib=$hwm
    sleep 0.05
  done
  "$bin/fedctl" job wait "${admin[@]}" "$job" --timeout 1800 > "$dir/logs/wait.log" 2>&1 || { tail -20 "$dir/logs/wait.log" "$dir/logs/site-1.log"; exit 1; }
  local seconds; seconds=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')
  local model_bytes; model_bytes=$(stat -c %s "$dir"/state/blobs/*.safetensors | head -1)
  cleanup; pids=()
  local label="plain" before=10.17; [[ $mode == 1 ]] && { label="secure"; before=11.20; }
  awk -v label="$label" -v model="$model_bytes" -v idle="$(( idle_kib * 1024 ))" -v peak="$(( peak_kib * 1024 ))" -v before="$before" -v s="$seconds" 'BEGIN {
    printf "%-6s | model %.1f MB | site idle %.1f MB | peak %.1f MB | (peak−idle)/model %.2f× (before the in-place upload: %.2f×, ratio %.2f) | round %d s\n",
      label, model / 1e6, idle / 1e6, peak / 1e6, (peak - idle) / model, before, (peak - idle) / model / before, s }'
}

echo "== site-1's peak RSS during one round of a resnet3d-10 width-$width model ($configuration build; work: $work)"
for mode in $modes; do run "$mode"; done
