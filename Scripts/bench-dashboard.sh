#!/usr/bin/env bash
# Dashboard load benchmark: one coordinator (dashboard on) and two sites run a job; in alternate rounds 20 dashboard
# clients each refresh the job page's data every second (GET /jobs/ID, /api/jobs/ID, /api/sites over HTTPS). Prints each
# round's seconds and the ratio mean(loaded rounds) / mean(quiet rounds) measured in this one run (target ≤ 1.10).
# BENCH_ROUNDS (default 13; round 1 is left out as warm-up), BENCH_CLIENTS (20), BENCH_SIZE (voxels per side, 32).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${BENCH_ROUNDS:-13}
clients=${BENCH_CLIENTS:-20}
size=${BENCH_SIZE:-32}
swift build --product fedct-coordinator >/dev/null && swift build --product fedct-site >/dev/null && swift build --product fedctl >/dev/null
bin=$(swift build --show-bin-path)
work=$(mktemp -d "${TMPDIR:-/tmp}/fedct-bench-dashboard.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/logs"

"$bin/fedctl" provision --out "$work/pki" --consortium bench --site site-1 --site site-2 --admin admin >/dev/null
"$bin/fedctl" synth --sites 2 --patients 64 --size "$size" --seed 3 --out "$work/data" >/dev/null
cat > "$work/coordinator.yaml" <<YAML
listen: 127.0.0.1:0
port_file: $work/coordinator.port
state_dir: $work/state/coordinator
tls: {ca: $work/pki/coordinator/ca.pem, cert: $work/pki/coordinator/cert.pem, key: $work/pki/coordinator/key.pem}
dashboard: {listen: 127.0.0.1:0}
YAML
"$bin/fedct-coordinator" --config "$work/coordinator.yaml" > "$work/logs/coordinator.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do [[ -s "$work/state/coordinator/dashboard.url" ]] && break; sleep 0.1; done
[[ -s "$work/state/coordinator/dashboard.url" ]] || { cat "$work/logs/coordinator.log"; echo "coordinator did not start" >&2; exit 1; }
address="localhost:$(cat "$work/coordinator.port")"

cat > "$work/job.yaml" <<YAML
name: bench-dashboard
rounds: $rounds
min_sites: 2
seed: 5
round_deadline_seconds: 600
encoder: {architecture: resnet3d, depth: 10, width: 8, stem_stride: 1, norm: group}
tte: {task_codes: [DEATH], rank: 4}
training: {local_epochs: 1, batch_size: 8, learning_rate: 0.001, volume_size: $size}
secure_aggregation: {enabled: false}
YAML
admin=(--coordinator "$address" --credentials "$work/pki/admin")
for name in site-1 site-2; do
  cat > "$work/$name.yaml" <<YAML
coordinator: {address: $address}
tls: {ca: $work/pki/$name/ca.pem, cert: $work/pki/$name/cert.pem, key: $work/pki/$name/key.pem}
data: {dir: $work/data/$name}
threads: 1
state_dir: $work/state/$name
privacy: {require_secure_aggregation: false}
YAML
  "$bin/fedct-site" --config "$work/$name.yaml" --exit-after-job > "$work/logs/$name.log" 2>&1 &
  pids+=($!)
done
job=$("$bin/fedctl" job submit "${admin[@]}" "$work/job.yaml")
login=$("$bin/fedctl" dashboard login --config "$work/coordinator.yaml" --minutes 60)
echo "== job $job: $rounds rounds of ${size}³ volumes on 2 sites; $clients dashboard clients in even rounds"

python3 - "$login" "$work/pki/admin/ca.pem" "$job" "$rounds" "$clients" <<'PY'
import http.client, json, ssl, statistics, sys, threading, time, urllib.parse
login, ca, job, rounds, clients = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
base = urllib.parse.urlsplit(login)
context = ssl.create_default_context(cafile=ca)

def connect():
    return http.client.HTTPSConnection(base.hostname, base.port, context=context, timeout=30)

conn = connect()
conn.request("GET", base.path + "?" + base.query)
response = conn.getresponse(); response.read()
assert response.status == 302, response.status
cookie = response.getheader("Set-Cookie").split(";")[0]

def fetch(conn, path):
    conn.request("GET", path, headers={"Cookie": cookie})
    response = conn.getresponse(); body = response.read()
    if response.status != 200:
        raise SystemExit(f"{path}: {response.status} {body[:200]!r}")
    return body

status_conn = connect()
def status():
    return json.loads(fetch(status_conn, f"/api/jobs/{job}"))

loaded = threading.Event()
stop = threading.Event()
requests = [0]
def client():
    conn = connect()
    while not stop.is_set():
        if loaded.is_set():
            started = time.time()
            for path in (f"/jobs/{job}", f"/api/jobs/{job}", "/api/sites"):
                fetch(conn, path)
                requests[0] += 1
            stop.wait(max(0, 1 - (time.time() - started)))
        else:
            stop.wait(0.05)
threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
for t in threads: t.start()

load_of = {}
while True:
    view = status()
    state = view["job"]["state"]
    current = view["currentRound"]
    if state == "running" and current:
        want = current % 2 == 0
        load_of.setdefault(current, want)
        (loaded.set if load_of[current] else loaded.clear)()
    if state in ("succeeded", "failed", "cancelled"):
        break
    time.sleep(0.1)
stop.set()
if state != "succeeded":
    raise SystemExit(f"the job ended {state}: {view['job'].get('message')}")
quiet, busy = [], []
print("round  seconds  dashboard clients")
for r in view["rounds"]:
    on = load_of.get(r["round"], False)
    print(f"{r['round']:>5}  {r['seconds']:7.3f}  {clients if on else 0}")
    if r["round"] > 1:
        (busy if on else quiet).append(r["seconds"])
ratio = statistics.mean(busy) / statistics.mean(quiet)
print(f"{requests[0]} dashboard requests answered during the loaded rounds")
print(f"mean round: quiet {statistics.mean(quiet):.3f} s ({len(quiet)} rounds), with {clients} clients {statistics.mean(busy):.3f} s ({len(busy)} rounds)")
print(f"ratio loaded/quiet = {ratio:.3f}; target ≤ 1.10: {'met' if ratio <= 1.10 else 'NOT met'}")
PY
