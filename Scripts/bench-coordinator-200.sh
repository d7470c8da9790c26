#!/usr/bin/env bash
# Coordinator scaling benchmark: one real fedct-coordinator (gRPC + mTLS on loopback) and ONE load process
# (`fedct-site bench-load`, hidden) running 200 site agents — each with its own certificate, channel, data folder
# and egress ledger, following the real site protocol (Join, PullTask, FetchModel, secure-aggregation steps,
# UploadUpdate) — for a 3-round job with a tiny model and secure aggregation (SecAgg+ sparse graph above
# `sparse_above` sites). The same run first measures 20 sites as the baseline, and prints 200 vs 20 as ratios:
#
#   coordinator CPU time per site-round  (utime+stime from /proc/PID/stat, from job submission to job end) / (sites × rounds)
#   coordinator peak RSS                 (VmHWM from /proc/PID/status at job end)
#   round latency                        (the job's round records: seconds from a round's opening to its commit)
#
#   BENCH_SITES (200)  BENCH_BASELINE_SITES (20)  BENCH_ROUNDS (3)  BENCH_SECAGG (1; 0: plain aggregation)
#   BENCH_DIR (a temporary folder; kept)
#
# Both processes share this machine's cores, so the load process's own work (200 agents' tiny local training and
# masking) competes with the coordinator; CPU time is the coordinator's own, round latency includes the load.
set -euo pipefail
cd "$(dirname "$0")/.."
sites=${BENCH_SITES:-200}
baseline=${BENCH_BASELINE_SITES:-20}
rounds=${BENCH_ROUNDS:-3}
secure=$([[ ${BENCH_SECAGG:-1} == 1 ]] && echo true || echo false)
work=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/fedct-bench-200.XXXXXX")}

Scripts/install-deps.sh build >/dev/null
swift build -c release >/dev/null
bin=$(swift build -c release --show-bin-path)
mkdir -p "$work"
# 200 TLS connections on the coordinator and 200 channels in the load process, plus their files.
ulimit -n "$(ulimit -Hn)"

site_names=()
for i in $(seq 1 "$sites"); do site_names+=("site-$i"); done
[[ -d "$work/pki" ]] || "$bin/fedctl" provision --out "$work/pki" --consortium bench $(printf -- '--site %s ' "${site_names[@]}") --admin admin >/dev/null
[[ -d "$work/data" ]] || "$bin/fedctl" synth --sites "$sites" --patients 6 --size 16 --seed 3 --out "$work/data" >/dev/null

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

ticks=$(getconf CLK_TCK)
cpu_seconds() { awk -v t="$ticks" '{ sub(/^.*\) /, ""); print ($12 + $13) / t }' "/proc/$1/stat"; }
kib() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/status"; }

run() {  # $1: number of sites; prints "sites cpu_per_site_round_ms peak_mb mean_round_s max_round_s wall_s"
  local n=$1 dir="$work/sites-$1"
  rm -rf "$dir"; mkdir -p "$dir/logs"
  pids=()
  cat > "$dir/coordinator.yaml" <<YAML
listen: 127.0.0.1:0
port_file: $dir/coordinator.port
state_dir: $dir/state
tls: {ca: $work/pki/coordinator/ca.pem, cert: $work/pki/coordinator/cert.pem, key: $work/pki/coordinator/key.pem}
YAML
  "$bin/fedct-coordinator" --config "$dir/coordinator.yaml" --log-level notice > "$dir/logs/coordinator.log" 2>&1 &
  local coordinator=$!
  pids+=("$coordinator")
  for _ in $(seq 1 100); do [[ -s "$dir/coordinator.port" ]] && break; sleep 0.1; done
  local address="localhost:$(cat "$dir/coordinator.port")"
  local admin=(--coordinator "$address" --credentials "$work/pki/admin")
  cat > "$dir/job.yaml" <<YAML
name: bench-$n-sites
rounds: $rounds
min_sites: $n
seed: 5
round_deadline_seconds: 900
encoder: {architecture: resnet3d, depth: 10, width: 2, stem_stride: 1, norm: group}
tte: {task_codes: [DEATH, PE, PH], piece_edges_days: [90, 365, 1095], rank: 4}
training: {local_epochs: 1, batch_size: 2, learning_rate: 0.001, weight_decay: 0, volume_size: 16}
secure_aggregation: {enabled: $secure, clip_norm: 20, max_examples_per_site: 100, step_timeout_seconds: 600}
YAML
  local job
  job=$("$bin/fedctl" job submit "${admin[@]}" "$dir/job.yaml")
  for _ in $(seq 1 600); do compgen -G "$dir/state/blobs/*.safetensors" >/dev/null && break; sleep 0.1; done
  local cpu_start; cpu_start=$(cpu_seconds "$coordinator")
  mkdir -p "$dir/sites"
  for name in "${site_names[@]:0:$n}"; do
    cat > "$dir/sites/$name.yaml" <<YAML
coordinator: {address: "$address"}
tls: {ca: $work/pki/$name/ca.pem, cert: $work/pki/$name/cert.pem, key: $work/pki/$name/key.pem}
data: {dir: $work/data/$name}
threads: 1
state_dir: $dir/state-$name
privacy: {require_secure_aggregation: $secure}
YAML
  done
  local started; started=$(date +%s.%N)
  "$bin/fedct-site" bench-load --config "$dir/sites" > "$dir/logs/load.log" 2>&1 &
  local load=$!
  pids+=("$load")
  "$bin/fedctl" job wait "${admin[@]}" "$job" --timeout 3600 > "$dir/logs/wait.log" 2>&1 \
    || { tail -20 "$dir/logs/wait.log" "$dir/logs/coordinator.log" "$dir/logs/load.log" >&2; exit 1; }
  local wall; wall=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  local cpu_end; cpu_end=$(cpu_seconds "$coordinator")
  local peak_kib; peak_kib=$(kib "$coordinator" VmHWM)
  "$bin/fedctl" job status "${admin[@]}" "$job" --json > "$dir/status.json"
  wait "$load" || { tail -20 "$dir/logs/load.log" >&2; exit 1; }
  cleanup; pids=()
  python3 - "$dir/status.json" "$n" "$rounds" "$cpu_start" "$cpu_end" "$peak_kib" "$wall" <<'PY'
import json, sys
status, n, rounds, cpu_start, cpu_end, peak_kib, wall = sys.argv[1:]
records = json.load(open(status)).get("rounds", [])
assert len(records) == int(rounds), f"{len(records)} rounds committed, expected {rounds}"
assert all(len(r.get("sites", [])) == int(n) for r in records), "a round lost sites"
seconds = [r.get("seconds", 0.0) for r in records]
per_site_round_ms = (float(cpu_end) - float(cpu_start)) * 1000 / (int(n) * int(rounds))
print(n, f"{per_site_round_ms:.2f}", f"{int(peak_kib) / 1024:.1f}", f"{sum(seconds) / len(seconds):.2f}", f"{max(seconds):.2f}",
      f"{float(cpu_end) - float(cpu_start):.2f}", wall)
PY
}

echo "== coordinator at $sites sites vs $baseline sites: $rounds rounds, tiny resnet3d (width 2), secure aggregation: $secure (work: $work)"
base=$(run "$baseline")
full=$(run "$sites")
for row in "$base" "$full"; do
  read -r n ms mb mean max cpu wall <<<"$row"
  printf "%3d sites | coordinator CPU %7.2f s = %6.2f ms per site-round | peak RSS %7.1f MB | round latency mean %6.2f s, max %6.2f s | wall %s s\n" \
    "$n" "$cpu" "$ms" "$mb" "$mean" "$max" "$wall"
done
read -r bn bms bmb bmean _ _ _ <<<"$base"
read -r fn fms fmb fmean _ _ _ <<<"$full"
awk -v bn="$bn" -v fn="$fn" -v bms="$bms" -v fms="$fms" -v bmb="$bmb" -v fmb="$fmb" -v bmean="$bmean" -v fmean="$fmean" 'BEGIN {
  printf "ratio %d vs %d sites (baseline: %d sites, same run): CPU per site-round %.2f× (1.00× = linear total cost) | peak RSS %.2f× | round latency %.2f× (sites ×%.0f)\n",
    fn, bn, bn, fms / bms, fmb / bmb, fmean / bmean, fn / bn
}'
