#!/usr/bin/env bash
# Egress-ledger benchmark: the signed ledger's cost per entry (ECDSA P-256 signature + fsync per entry) beside a plain
# unsigned JSON-lines baseline measured in the same run, and per round as a fraction of a round's time.
# BENCH_CALLS (default 1000), BENCH_CALLS_PER_ROUND (40), BENCH_ROUND_SECONDS (the demo's secure round, 17 s),
# BENCH_DIR (a folder on the disk state_dir uses; default $TMPDIR). BENCH_LEDGER: a site's state_dir from a real run (e.g.
# the demo's $FEDCT_DEMO_DIR/state/site-1): every training round of its ledger beside that round's own time instead.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product fedctl >/dev/null
"$(swift build -c release --show-bin-path)/fedctl" audit bench --calls "${BENCH_CALLS:-1000}" \
  --calls-per-round "${BENCH_CALLS_PER_ROUND:-40}" --round-seconds "${BENCH_ROUND_SECONDS:-17}" --directory "${BENCH_DIR:-${TMPDIR:-/tmp}}" \
  ${BENCH_LEDGER:+--ledger "$BENCH_LEDGER"}
