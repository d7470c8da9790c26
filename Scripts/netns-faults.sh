#!/usr/bin/env bash
# Network-fault run on real links: the coordinator in this namespace, each site agent in its own network namespace
# behind a veth pair shaped by `tc tbf` (10 Mbit/s, both ways); one site's link goes down for longer than keepalive and
# comes back. Checks the job completes with every round, and that the cut-off site rejoined. Creates and removes its
# namespaces itself; says so and exits 0 (skipped) where namespaces are not permitted. Needs root (or CAP_NET_ADMIN).
# Usage: Scripts/netns-faults.sh [ROUNDS]   (FEDCT_BIN: folder of built executables; default: swift build's debug folder)
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${1:-24}
down_seconds=${FEDCT_NETNS_DOWN_SECONDS:-60}   # keepalive is 30 s + 20 s
prefix=fct18
sites=(site-1 site-2 site-3)
work=$(mktemp -d "${TMPDIR:-/tmp}/fedct-netns.XXXXXX")

if ! ip netns add "${prefix}-probe" 2>/dev/null; then
  echo "SKIPPED: network namespaces are not permitted here (ip netns add failed; run as root or with CAP_NET_ADMIN)."
  echo "The proxy variant (NetworkFaultEndToEndTests) covers the same faults without namespaces."
  exit 0
fi
ip netns del "${prefix}-probe"
if ! command -v tc >/dev/null; then echo "SKIPPED: tc (iproute2) is missing"; exit 0; fi

bin=${FEDCT_BIN:-}
if [[ -z "$bin" ]]; then
  swift build --product fedctl >/dev/null && swift build --product fedct-site >/dev/null && swift build --product fedct-coordinator >/dev/null
  bin=$(swift build --show-bin-path)
fi

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for i in "${!sites[@]}"; do
    ip netns del "${prefix}-s$((i + 1))" 2>/dev/null || true
    ip link del "${prefix}-s$((i + 1))" 2>/dev/null || true
  done
  echo "removed namespaces ${prefix}-s1..${prefix}-s${#sites[@]}; logs in $work"
}
trap cleanup EXIT

echo "== namespaces: one per site, veth to this namespace, tbf 10 Mbit/s each way"
hosts=(--coordinator-host localhost)
for i in "${!sites[@]}"; do
  n=$((i + 1)); ns="${prefix}-s$n"; outer="${prefix}-s$n"; inner="${prefix}-i$n"
  ip netns add "$ns"
  ip link add "$outer" type veth peer name "$inner"
  ip link set "$inner" netns "$ns"
  ip addr add "10.218.$n.1/24" dev "$outer"; ip link set "$outer" up
  ip netns exec "$ns" ip addr add "10.218.$n.2/24" dev "$inner"
  ip netns exec "$ns" ip link set "$inner" up
  ip netns exec "$ns" ip link set lo up
  tc qdisc add dev "$outer" root tbf rate 10mbit burst 32kbit latency 400ms
  ip netns exec "$ns" tc qdisc add dev "$inner" root tbf rate 10mbit burst 32kbit latency 400ms
  hosts+=(--coordinator-host "10.218.$n.1")
done

"$bin/fedctl" provision --out "$work/pki" --consortium netns "${hosts[@]}" $(printf -- '--site %s ' "${sites[@]}") --admin admin >/dev/null
"$bin/fedctl" synth --sites "${#sites[@]}" --patients 6 --size 16 --seed 5 --out "$work/data" >/dev/null
cat > "$work/coordinator.yaml" <<YAML
listen: 0.0.0.0:0
port_file: $work/coordinator.port
state_dir: $work/state/coordinator
tls: {ca: $work/pki/coordinator/ca.pem, cert: $work/pki/coordinator/cert.pem, key: $work/pki/coordinator/key.pem}
YAML
"$bin/fedct-coordinator" --config "$work/coordinator.yaml" > "$work/coordinator.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do [[ -s "$work/coordinator.port" ]] && break; sleep 0.1; done
port=$(cat "$work/coordinator.port")
admin=(--coordinator "localhost:$port" --credentials "$work/pki/admin")
cat > "$work/job.yaml" <<YAML
name: netns-faults
rounds: $rounds
min_sites: 2
round_deadline_seconds: 40
encoder: {width: 2}
tte: {rank: 4}
training: {volume_size: 16}
secure_aggregation: {clip_norm: 10, max_examples_per_site: 64, step_timeout_seconds: 5}
evaluation: {enabled: false}
YAML
job=$("$bin/fedctl" job submit "${admin[@]}" "$work/job.yaml")
echo "== coordinator on port $port; job $job ($rounds rounds)"
for i in "${!sites[@]}"; do
  n=$((i + 1)); name=${sites[$i]}
  cat > "$work/$name.yaml" <<YAML
coordinator: {address: "10.218.$n.1:$port", server_name: localhost}
tls: {ca: $work/pki/$name/ca.pem, cert: $work/pki/$name/cert.pem, key: $work/pki/$name/key.pem}
data: {dir: $work/data/$name}
threads: 1
state_dir: $work/state/$name
YAML
  ip netns exec "${prefix}-s$n" "$bin/fedct-site" --config "$work/$name.yaml" --exit-after-job > "$work/$name.log" 2>&1 &
  pids+=($!)
done

rounds_done() { "$bin/fedctl" job status "${admin[@]}" "$job" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin).get("rounds", [])))'; }
until (( $(rounds_done) >= 2 )); do sleep 0.5; done
down_after=$(rounds_done)
echo "== after round $down_after: site-3's link down for $down_seconds s"
ip link set "${prefix}-s3" down
sleep "$down_seconds"
ip link set "${prefix}-s3" up
up_after=$(rounds_done)
echo "== link up again after round $up_after"

"$bin/fedctl" job wait "${admin[@]}" "$job" --timeout 900 >/dev/null || true
"$bin/fedctl" job status "${admin[@]}" "$job" --json > "$work/status.json"
python3 - "$work/status.json" "$rounds" "$up_after" <<'PY'
import json, sys
status, rounds, up_after = json.load(open(sys.argv[1])), int(sys.argv[2]), int(sys.argv[3])
records = status.get("rounds", [])
for r in records:
    print(f"round {r['round']}: sites {','.join(r.get('sites', []))}; dropped {','.join(r.get('droppedSites', [])) or '-'}")
problems = []
if status.get("state") != "SUCCEEDED": problems.append(f"job ended {status.get('state')}: {status.get('message', '')}")
if [r["round"] for r in records] != list(range(1, rounds + 1)): problems.append("a round is missing")
if not any(r["round"] > up_after + 1 and "site-3" in r.get("sites", []) for r in records): problems.append("site-3 did not rejoin after its link came back")
print("PASS: every round committed; site-3 rejoined" if not problems else "FAIL: " + "; ".join(problems))
sys.exit(1 if problems else 0)
PY
