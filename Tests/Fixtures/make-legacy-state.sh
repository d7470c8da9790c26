#!/usr/bin/env bash
# make-legacy-state.sh: writes a coordinator state folder as this checkout's executables write it — a job that derived its
# tasks in a secure setup stage and committed at least one round, with the coordinator stopped mid-job — for the
# migration test (LegacyStateMigrationTests). Usage: Tests/Fixtures/make-legacy-state.sh OUT [BIN]
# OUT receives coordinator.sqlite and blobs/; BIN (default .build/debug) holds fedctl, fedct-coordinator, fedct-site.
set -euo pipefail

out=${1:?usage: make-legacy-state.sh OUT [BIN]}
bin=$(cd "${2:-.build/debug}" && pwd)
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin/fedctl" provision create --out "$work/pki" --consortium it --coordinator-host localhost --coordinator-port "$port" \
    --site site-1 --site site-2 --admin admin > /dev/null
"$bin/fedctl" synth --sites 2 --patients 24,18 --size 16 --seed 5 --out "$work/data" > /dev/null

cat > "$work/coordinator.yaml" <<EOF
listen: 127.0.0.1:$port
state_dir: $work/state
tls: {ca: $work/pki/coordinator/ca.pem, cert: $work/pki/coordinator/cert.pem, key: $work/pki/coordinator/key.pem}
EOF
# The tiny derived-task job of SetupStageEndToEndTests.derivedSpec, with 6 rounds so the stop lands mid-job.
cat > "$work/job.yaml" <<EOF
name: legacy-derive
rounds: 6
min_sites: 2
round_deadline_seconds: 120
encoder: {architecture: resnet3d, depth: 10, width: 2}
tte: {derive_tasks: true, max_tasks: 40, pieces: 4, min_patients_per_code: 3, rank: 4}
training: {volume_size: 16, batch_size: 4}
secure_aggregation: {clip_norm: 10, max_examples_per_site: 64}
EOF

"$bin/fedct-coordinator" --config "$work/coordinator.yaml" > "$work/coordinator.log" 2>&1 &
coordinator=$!
pids+=("$coordinator")
admin=(--coordinator "localhost:$port" --credentials "$work/pki/admin")
job=""
for _ in $(seq 100); do
    if job=$("$bin/fedctl" job submit "${admin[@]}" --json "$work/job.yaml" 2> /dev/null); then break; fi
    sleep 0.2
done
job=$(printf '%s' "$job" | python3 -c 'import json, sys; print(json.load(sys.stdin)["jobId"])')

for site in site-1 site-2; do
    cat > "$work/$site.yaml" <<EOF
coordinator: {address: "localhost:$port"}
tls: {ca: $work/pki/$site/ca.pem, cert: $work/pki/$site/cert.pem, key: $work/pki/$site/key.pem}
data: {dir: $work/data/$site}
threads: 1
state_dir: $work/state-$site
EOF
    "$bin/fedct-site" --config "$work/$site.yaml" > "$work/$site.log" 2>&1 &
    pids+=("$!")
done

# Stop the coordinator (SIGTERM, as for an upgrade) as soon as round 1 is committed.
rounds=0
for _ in $(seq 1200); do
    rounds=$("$bin/fedctl" job status "${admin[@]}" --json "$job" | python3 -c 'import json, sys; print(len(json.load(sys.stdin).get("rounds", [])))')
    [ "$rounds" -ge 1 ] && break
    sleep 0.1
done
[ "$rounds" -ge 1 ] || { echo "no round was committed; coordinator log:" >&2; cat "$work/coordinator.log" >&2; exit 1; }
kill -TERM "$coordinator"
wait "$coordinator" || true

# One self-contained database file (the WAL folded in), then the folder.
sqlite3 "$work/state/coordinator.sqlite" 'PRAGMA wal_checkpoint(TRUNCATE);' > /dev/null
rm -f "$work/state/coordinator.sqlite-wal" "$work/state/coordinator.sqlite-shm"
rm -rf "$out"
mkdir -p "$out"
cp "$work/state/coordinator.sqlite" "$out/"
cp -r "$work/state/blobs" "$out/"
echo "job $job: $(sqlite3 "$out/coordinator.sqlite" 'SELECT COUNT(*) FROM rounds') committed rounds of 6, state in $out"
ls -R "$work/state" | sed 's/^/  state: /' >&2
