#!/usr/bin/env bash
# bench-transfer: how fast a model crosses mTLS on loopback — a site's FetchModel as its agent makes it every round
# (`fedct-site bench-fetch`: the site's link, offsets and hash checked, the call in its egress ledger; into memory) and
# `fedctl model fetch` (the Admin FetchModel call, streamed to a file), beside a raw TLS copy of the same bytes between
# two processes with the same certificates (Scripts/tls_copy.py: Python's ssl, i.e. OpenSSL, 1 MiB writes), as MB/s and
# ratios in one run.
#   BENCH_WIDTH (96: resnet3d-10, a ≈129 MB model)  BENCH_REPEATS (3; medians are printed)
# fedctl's process start (libtorch and ~350 libraries loaded) is timed apart with `fedctl --help` and taken off; the
# site's downloads are timed inside its process. The copies land in a memory file system (/dev/shm when there is one),
# so the figures are the wire's, not the disk's.
set -euo pipefail
cd "$(dirname "$0")/.."
width=${BENCH_WIDTH:-96}
repeats=${BENCH_REPEATS:-3}
Scripts/install-deps.sh build >/dev/null
swift build -c release --product fedctl >/dev/null
swift build -c release --product fedct-coordinator >/dev/null
swift build -c release --product fedct-site >/dev/null
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d "${TMPDIR:-/tmp}/fedct-bench-transfer.XXXXXX")
landing=$(mktemp -d "$([[ -d /dev/shm ]] && echo /dev/shm || echo "$work")/fedct-bench-transfer.XXXXXX")
coordinator=""
cleanup() { [[ -n "$coordinator" ]] && kill "$coordinator" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work" "$landing"; }
trap cleanup EXIT

"$bin/fedctl" provision --out "$work/pki" --consortium bench --site site-1 --site site-2 --admin admin >/dev/null
cat > "$work/coordinator.yaml" <<YAML
listen: 127.0.0.1:0
port_file: $work/coordinator.port
state_dir: $work/state
tls: {ca: $work/pki/coordinator/ca.pem, cert: $work/pki/coordinator/cert.pem, key: $work/pki/coordinator/key.pem}
YAML
"$bin/fedct-coordinator" --config "$work/coordinator.yaml" > "$work/coordinator.log" 2>&1 &
coordinator=$!
for _ in $(seq 1 300); do [[ -s "$work/coordinator.port" ]] && break; sleep 0.1; done
address="localhost:$(cat "$work/coordinator.port")"
admin=(--coordinator "$address" --credentials "$work/pki/admin")
cat > "$work/job.yaml" <<YAML
name: bench-transfer
rounds: 1
min_sites: 2
encoder: {architecture: resnet3d, depth: 10, width: $width, stem_stride: 1, norm: group}
tte: {task_codes: [DEATH], piece_edges_days: [365], rank: 4}
YAML
job=$("$bin/fedctl" job submit "${admin[@]}" "$work/job.yaml")
for _ in $(seq 1 600); do compgen -G "$work/state/blobs/*.safetensors" >/dev/null && break; sleep 0.1; done
blob=$(ls "$work"/state/blobs/*.safetensors | head -1)
bytes=$(stat -c %s "$blob")

seconds() { local start; start=$(date +%s.%N); "$@" >/dev/null; awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.4f\n", b - a }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
start=$(for _ in $(seq 1 "$repeats"); do seconds "$bin/fedctl" --help; done | median)
fetch=$(for i in $(seq 1 "$repeats"); do seconds "$bin/fedctl" model fetch "${admin[@]}" --job "$job" --round 0 --out "$landing/fetched.safetensors"; done | median)
cmp -s "$blob" "$landing/fetched.safetensors" || { echo "bench-transfer: the fetched model differs from the stored blob" >&2; exit 1; }
mkdir -p "$work/site-data"
cat > "$work/site.yaml" <<YAML
coordinator: {address: $address}
tls: {ca: $work/pki/site-1/ca.pem, cert: $work/pki/site-1/cert.pem, key: $work/pki/site-1/key.pem}
data: {dir: $work/site-data}
state_dir: $work/site-state
YAML
site_line=$("$bin/fedct-site" bench-fetch --config "$work/site.yaml" --sha256 "$(basename "$blob" .safetensors)" --bytes "$bytes" --repeats "$repeats")
site=$(awk '{ print $NF }' <<< "$site_line")
raw=$(for _ in $(seq 1 "$repeats"); do python3 Scripts/tls_copy.py "$blob" "$work/pki" "$landing/copied.safetensors"; done | median)
cmp -s "$blob" "$landing/copied.safetensors" || { echo "bench-transfer: the TLS copy differs from the stored blob" >&2; exit 1; }

awk -v bytes="$bytes" -v start="$start" -v fetch="$fetch" -v raw="$raw" -v site="$site" -v n="$repeats" 'BEGIN {
  transfer = fetch - start
  printf "model %.1f MB; medians of %d runs\n", bytes / 1e6, n
  printf "raw TLS copy (OpenSSL, same certificates, 1 MiB writes, into a memory file system): %.3f s = %.1f MB/s\n", raw, bytes / raw / 1e6
  printf "fedctl model fetch: %.3f s in all, process start %.3f s, transfer %.3f s = %.1f MB/s\n", fetch, start, transfer, bytes / transfer / 1e6
  printf "site FetchModel (fedct-site bench-fetch, into memory): %.3f s = %.1f MB/s\n", site, bytes / site / 1e6
  printf "site FetchModel / raw TLS: %.2f\n", raw / site
  printf "fedctl model fetch / raw TLS: %.2f (transfer only), %.2f (with the process start)\n", raw / transfer, raw / fetch
}'
