#!/usr/bin/env bash
# Soak run (not in the test suite): one long secure job on loopback while site agents and the coordinator are killed
# (SIGKILL) and restarted at random; after every committed round prints each daemon's RSS, open file descriptors and
# threads, and at the end the coordinator's RSS at its first vs last round (same process) as a ratio.
# Usage: Scripts/soak.sh [ROUNDS] [SECONDS_BETWEEN_FAULTS]   (FEDCT_BIN: folder of built executables; FEDCT_SOAK_SEED)
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${1:-30}
every=${2:-8}
RANDOM=${FEDCT_SOAK_SEED:-18}
sites=(site-1 site-2 site-3)
work=$(mktemp -d "${TMPDIR:-/tmp}/fedct-soak.XXXXXX")
bin=${FEDCT_BIN:-}
if [[ -z "$bin" ]]; then
  swift build --product fedctl >/dev/null && swift build --product fedct-site >/dev/null && swift build --product fedct-coordinator >/dev/null
  bin=$(swift build --show-bin-path)
fi

declare -A pid
cleanup() {
  for p in "${pid[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "logs and state: $work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin/fedctl" provision --out "$work/pki" --consortium soak $(printf -- '--site %s ' "${sites[@]}") --admin admin >/dev/null
"$bin/fedctl" synth --sites "${#sites[@]}" --patients 8 --size 16 --seed 3 --out "$work/data" >/dev/null
cat > "$work/coordinator.yaml" <<YAML
listen: 127.0.0.1:$port
state_dir: $work/state/coordinator
tls: {ca: $work/pki/coordinator/ca.pem, cert: $work/pki/coordinator/cert.pem, key: $work/pki/coordinator/key.pem}
YAML
admin=(--coordinator "localhost:$port" --credentials "$work/pki/admin")
coordinator_starts=0
start_coordinator() {
  coordinator_starts=$((coordinator_starts + 1))
  "$bin/fedct-coordinator" --config "$work/coordinator.yaml" >> "$work/coordinator.log" 2>&1 &
  pid[coordinator]=$!
  for _ in $(seq 1 100); do "$bin/fedctl" job list "${admin[@]}" >/dev/null 2>&1 && return; sleep 0.1; done
}
site_starts=0
start_site() {
  local name=$1
  site_starts=$((site_starts + 1))
  "$bin/fedct-site" --config "$work/$name.yaml" --exit-after-job >> "$work/$name.log" 2>&1 &
  pid[$name]=$!
}
start_coordinator
cat > "$work/job.yaml" <<YAML
name: soak
rounds: $rounds
min_sites: 2
round_deadline_seconds: 30
encoder: {width: 2}
tte: {rank: 4}
training: {volume_size: 16}
secure_aggregation: {clip_norm: 10, max_examples_per_site: 64, step_timeout_seconds: 5}
evaluation: {enabled: false}
YAML
job=$("$bin/fedctl" job submit "${admin[@]}" "$work/job.yaml")
for name in "${sites[@]}"; do
  cat > "$work/$name.yaml" <<YAML
coordinator: {address: "localhost:$port"}
tls: {ca: $work/pki/$name/ca.pem, cert: $work/pki/$name/cert.pem, key: $work/pki/$name/key.pem}
data: {dir: $work/data/$name}
threads: 1
state_dir: $work/state/$name
YAML
  start_site "$name"
done
echo "== soak: job $job, $rounds rounds, a fault every ~$every s; work folder $work"

# "rss_kB fds threads" of a live process.
usage() { local p=$1; [[ -d /proc/$p ]] || { echo "- - -"; return; }
  echo "$(awk '/^VmRSS/ {print $2}' /proc/$p/status) $(ls /proc/$p/fd | wc -l) $(awk '/^Threads/ {print $2}' /proc/$p/status)"; }
status_json() { "$bin/fedctl" job status "${admin[@]}" "$job" --json 2>/dev/null || echo '{}'; }
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

printf '%-6s %-10s %-24s %s\n' round state "coordinator rss/fds/thr" "sites rss/fds/thr"
seen=0; next_fault=$((SECONDS + every)); first_rss=""; first_round=0; last_rss=""; coordinator_kills=0; site_kills=0
while :; do
  json=$(status_json)
  state=$(echo "$json" | field 'd.get("state", "?")')
  done_rounds=$(echo "$json" | field 'len(d.get("rounds", []))')
  while (( seen < done_rounds )); do
    seen=$((seen + 1))
    read -r crss cfds cthr <<<"$(usage "${pid[coordinator]}")"
    line=""
    for name in "${sites[@]}"; do read -r r f t <<<"$(usage "${pid[$name]}")"; line+="$name $r/$f/$t  "; done
    printf '%-6s %-10s %-24s %s\n' "$seen" "$state" "$crss/$cfds/$cthr" "$line"
    if [[ -z "$first_rss" ]]; then first_rss=$crss; first_round=$seen; fi
    last_rss=$crss
  done
  [[ "$state" == SUCCEEDED || "$state" == FAILED || "$state" == CANCELLED ]] && break
  for name in "${sites[@]}"; do kill -0 "${pid[$name]}" 2>/dev/null || start_site "$name"; done
  if (( SECONDS >= next_fault )); then
    next_fault=$((SECONDS + every / 2 + RANDOM % every))
    if (( RANDOM % 5 == 0 )); then
      echo "   fault: coordinator killed and restarted"
      kill -9 "${pid[coordinator]}"; wait "${pid[coordinator]}" 2>/dev/null || true
      coordinator_kills=$((coordinator_kills + 1)); start_coordinator
      first_rss=""   # a new process: compare rounds of the same process
    else
      victim=${sites[$((RANDOM % ${#sites[@]}))]}
      echo "   fault: $victim killed (restarted in 1-3 s)"
      kill -9 "${pid[$victim]}"; wait "${pid[$victim]}" 2>/dev/null || true
      site_kills=$((site_kills + 1)); sleep $((1 + RANDOM % 3)); start_site "$victim"
    fi
  fi
  sleep 1
done
echo "== job $state after $seen rounds; $coordinator_kills coordinator and $site_kills site kills ($coordinator_starts coordinator starts, $site_starts site starts)"
if [[ -n "$first_rss" && -n "$last_rss" && "$first_rss" != - && "$last_rss" != - ]]; then
  python3 -c "print(f'coordinator RSS, same process: round $first_round {int($first_rss)/1024:.1f} MiB -> round $seen {int($last_rss)/1024:.1f} MiB, ratio {int($last_rss)/int($first_rss):.3f}')"
fi
[[ "$state" == SUCCEEDED ]]
