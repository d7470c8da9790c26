#!/usr/bin/env bash
# Coordinator memory benchmark: peak RSS of fedct-coordinator while 10 sites upload a ≈130 MB model at once (one round),
# printed beside the model size and the "O(sites × model)" baseline it must stay well under, as ratios in the same run.
#
#   BENCH_SITES (10)  BENCH_WIDTH (96: resnet3d-10, ≈32 M parameters ≈ 130 MB)  BENCH_SECAGG ("0 1": plain, then secure)
#   BENCH_SITE_COUNTS ("2 $BENCH_SITES": a smaller federation too, so the peak's growth per site is measured, not assumed)
#   BENCH_DIR (a temporary folder; kept)  BENCH_SAMPLE_SECONDS (0.05)
#
# The coordinator's peak is taken from /proc/PID/status VmHWM after it was reset (`echo 5 > /proc/PID/clear_refs`) once
# the job was submitted and the initial model written, so it covers exactly the round: 10 downloads of the global model,
# 10 simultaneous uploads, aggregation and commit. VmRSS is also sampled every 50 ms as a cross-check, and its peak until
# the coordinator has logged every "update received" is printed apart (the upload phase), and so is its peak from then
# on (aggregation and commit). Each line also shows the figure this script measured before round models were built
# range by range and uploads got a fixed receive window (the coordinator guide's earlier table, same machine, release
# build): (peak − idle)/model 7.56× plain, 6.76× secure — a recorded figure, not one measured in this run.
set -euo pipefail
cd "$(dirname "$0")/.."
sites=${BENCH_SITES:-10}
width=${BENCH_WIDTH:-96}
modes=${BENCH_SECAGG:-"0 1"}
sample=${BENCH_SAMPLE_SECONDS:-0.05}
counts=${BENCH_SITE_COUNTS:-"2 $sites"}
work=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/fedct-bench-memory.XXXXXX")}

Scripts/install-deps.sh build >/dev/null
swift build -c release >/dev/null
bin=$(swift build -c release --show-bin-path)
mkdir -p "$work"

site_names=()
for i in $(seq 1 "$sites"); do site_names+=("site-$i"); done
[[ -d "$work/pki" ]] || "$bin/fedctl" provision --out "$work/pki" --consortium bench $(printf -- '--site %s ' "${site_names[@]}") --admin admin >/dev/null
[[ -d "$work/data" ]] || "$bin/fedctl" synth --sites "$sites" --patients 4 --size 16 --seed 3 --out "$work/data" >/dev/null

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

kib() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/status"; }
mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1e6 }'; }

results=()
run() {  # $1: 0 plain aggregation, 1 secure aggregation; $2: how many of the provisioned sites take part
  local mode=$1 n=$2 secure=false; [[ $mode == 1 ]] && secure=true
  local dir="$work/secagg-$mode-sites-$n"
  rm -rf "$dir"; mkdir -p "$dir/logs"
  pids=()
  cat > "$dir/coordinator.yaml" <<YAML
listen: 127.0.0.1:0
port_file: $dir/coordinator.port
state_dir: $dir/state
tls: {ca: $work/pki/coordinator/ca.pem, cert: $work/pki/coordinator/cert.pem, key: $work/pki/coordinator/key.pem}
YAML
  "$bin/fedct-coordinator" --config "$dir/coordinator.yaml" > "$dir/logs/coordinator.log" 2>&1 &
  local coordinator=$!
  pids+=("$coordinator")
  for _ in $(seq 1 100); do [[ -s "$dir/coordinator.port" ]] && break; sleep 0.1; done
  local address="localhost:$(cat "$dir/coordinator.port")"
  local admin=(--coordinator "$address" --credentials "$work/pki/admin")
  cat > "$dir/job.yaml" <<YAML
name: bench-memory
rounds: 1
min_sites: $n
seed: 5
round_deadline_seconds: 1800
encoder: {architecture: resnet3d, depth: 10, width: $width, stem_stride: 1, norm: group}
tte: {task_codes: [DEATH, PE, PH], piece_edges_days: [90, 365, 1095], rank: 4}
training: {local_epochs: 1, batch_size: 4, learning_rate: 0.001, weight_decay: 0, volume_size: 16}
secure_aggregation: {enabled: $secure, clip_norm: 20, max_examples_per_site: 100, step_timeout_seconds: 1800}
YAML
  local job
  job=$("$bin/fedctl" job submit "${admin[@]}" "$dir/job.yaml")
  # The initial model is written at submission; wait for it, then take the idle figure and reset the high-water mark.
  for _ in $(seq 1 600); do compgen -G "$dir/state/blobs/*.safetensors" >/dev/null && break; sleep 0.1; done
  local model_bytes
  model_bytes=$(stat -c %s "$dir"/state/blobs/*.safetensors | head -1)
  sleep 1
  local idle_kib; idle_kib=$(kib "$coordinator" VmRSS)
  echo 5 > "/proc/$coordinator/clear_refs"

  local threads=1
  local started; started=$(date +%s.%N)
  for name in "${site_names[@]:0:$n}"; do
    cat > "$dir/$name.yaml" <<YAML
coordinator: {address: "$address"}
tls: {ca: $work/pki/$name/ca.pem, cert: $work/pki/$name/cert.pem, key: $work/pki/$name/key.pem}
data: {dir: $work/data/$name}
threads: $threads
state_dir: $dir/state-$name
privacy: {require_secure_aggregation: $secure}
YAML
    "$bin/fedct-site" --config "$dir/$name.yaml" --exit-after-job > "$dir/logs/$name.log" 2>&1 &
    pids+=($!)
  done
  "$bin/fedctl" job wait "${admin[@]}" "$job" --timeout 1800 > "$dir/logs/wait.log" 2>&1 &
  local waiter=$!
  # Two phases: until the coordinator has logged all n "update received" (downloads, training, the n uploads), then
  # aggregation (plain: streaming the spooled updates; secure: unmasking) and commit.
  local peak_sampled=0 peak_upload=0 peak_commit=0 uploading=1 rss
  while kill -0 "$waiter" 2>/dev/null; do
    rss=$(kib "$coordinator" VmRSS); (( rss > peak_sampled )) && peak_sampled=$rss
    if (( uploading )); then
      (( rss > peak_upload )) && peak_upload=$rss
      (( $(grep -c "update received" "$dir/logs/coordinator.log") >= n )) && uploading=0
    else
      (( rss > peak_commit )) && peak_commit=$rss
    fi
    sleep "$sample"
  done
  wait "$waiter" || { tail -20 "$dir/logs/wait.log" "$dir/logs/coordinator.log" "$dir/logs/site-1.log"; exit 1; }
  local seconds; seconds=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')
  local peak_kib; peak_kib=$(kib "$coordinator" VmHWM)
  cleanup; pids=()

  local peak=$(( peak_kib * 1024 )) idle=$(( idle_kib * 1024 )) sampled=$(( peak_sampled * 1024 )) upload=$(( peak_upload * 1024 ))
  local commit=$(( peak_commit * 1024 )) before=7.56; [[ $mode == 1 ]] && before=6.76
  local label="plain"; [[ $mode == 1 ]] && label="secure"
  results+=("$label $n $model_bytes $peak")
  awk -v label="$label" -v sites="$n" -v model="$model_bytes" -v peak="$peak" -v idle="$idle" -v sampled="$sampled" -v upload="$upload" -v commit="$commit" -v before="$before" -v s="$seconds" 'BEGIN {
    printf "%-6s %2d sites | model %.1f MB | idle %.1f MB | peak %.1f MB (50 ms samples: %.1f MB; until the last upload arrived: %.1f MB, (that−idle)/model %.2f×; aggregation and commit: %.1f MB, (that−idle)/model %.2f×) | peak/model %.2f× | (peak−idle)/model %.2f× (before range-by-range round models: %.2f×, ratio %.2f) | baseline %d×model = %.1f MB, peak/baseline %.3f | round %d s\n",
      label, sites, model / 1e6, idle / 1e6, peak / 1e6, sampled / 1e6, upload / 1e6, (upload - idle) / model, commit / 1e6, (commit - idle) / model, peak / model, (peak - idle) / model, before, (peak - idle) / model / before, sites, sites * model / 1e6, peak / (sites * model), s
  }'
}

echo "== coordinator peak RSS during one round: $counts sites upload a resnet3d-10 width-$width model at once (work: $work)"
for mode in $modes; do for n in $counts; do run "$mode" "$n"; done; done
# The slope: how much the peak grows per extra uploading site, in model sizes (O(sites × model) would make it ≈ 1 or more).
printf '%s\n' "${results[@]}" | awk '
  { if (!($1 in lo) || $2 < nlo[$1]) { lo[$1] = $4; nlo[$1] = $2 }
    if (!($1 in hi) || $2 > nhi[$1]) { hi[$1] = $4; nhi[$1] = $2 }
    model = $3 }
  END { for (m in lo) if (nhi[m] > nlo[m])
    printf "%-6s peak growth per extra site: %.3f × model (%d → %d sites: peak %.1f → %.1f MB); O(sites × model) baseline: ≥ 1 × model per site\n",
      m, (hi[m] - lo[m]) / ((nhi[m] - nlo[m]) * model), nlo[m], nhi[m], lo[m] / 1e6, hi[m] / 1e6 }'
