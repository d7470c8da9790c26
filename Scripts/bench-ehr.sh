#!/usr/bin/env bash
# EHR input benchmark: a 10,000,000-row MEDS event table loaded by the release fedct-bench-ehr (SubjectTimelines over the
# streaming EHREventReader) beside two baselines measured in the same run: the file's size (peak RSS / file size, goal
# well below 1) and pandas.read_csv + pd.to_datetime on the same file (rows/s and peak RSS as ratios).
# Needs python3 with numpy and pandas (PYTHON=/path/to/python to choose one; pip install pandas).
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${BENCH_ROWS:-10000000}
python=${PYTHON:-python3}

"$python" -c "import numpy, pandas" 2>/dev/null || { echo "needs numpy and pandas for $python: $python -m pip install pandas" >&2; exit 1; }
swift build -c release --product fedct-bench-ehr >/dev/null
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d "${TMPDIR:-/tmp}/fedct-bench-ehr.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "== generating $rows MEDS rows (200,000 subjects in order, 5,000 Zipf-distributed codes, date-times, half with numeric_value)"
"$python" - "$work/events.csv" "$rows" <<'PY'
import sys
import numpy as np
path, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(4)
# Zipf-distributed codes, the outcome codes the loader tracks among the rare ones (as in a real record).
codes = np.array([f"ICD10/X{i:04d}" for i in range(4997)] + ["DEATH", "PE", "PH"])
start = np.datetime64("2000-01-01T00:00:00")
with open(path, "w") as out:
    out.write("subject_id,time,code,numeric_value\n")
    for first in range(0, n, 1_000_000):
        m = min(1_000_000, n - first)
        # MEDS tables are sorted by subject, then time: each block of a million rows covers its share of the subjects.
        subjects = np.sort(rng.integers(1 + first * 200_000 // n, 1 + (first + m) * 200_000 // n, size=m)).tolist()
        times = np.datetime_as_string(start + rng.integers(0, 24 * 365 * 86400, size=m).astype("timedelta64[s]"), unit="s").tolist()
        chosen = codes[(rng.zipf(1.3, size=m) - 1) % len(codes)].tolist()
        values = np.where(rng.random(m) < 0.5, np.round(rng.normal(5, 2, size=m), 2).astype(str), "").tolist()
        out.write("\n".join(f"{s},{t},{c},{v}" for s, t, c, v in zip(subjects, times, chosen, values)))
        out.write("\n")
PY
size=$(stat -c %s "$work/events.csv")
echo "file: $size bytes"

swift_line=$("$bin/fedct-bench-ehr" "$work/events.csv" "$rows")
echo "fedct-bench-ehr (Swift, release): $swift_line"
"$python" - "$work/events.csv" "$rows" "$size" "$swift_line" <<'PY'
import resource, sys, time
import pandas as pd
path, rows, size, swift = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].split()
start = time.perf_counter()
frame = pd.read_csv(path)
frame["time"] = pd.to_datetime(frame["time"], format="ISO8601")
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
assert len(frame) == rows, len(frame)
print(f"pandas {pd.__version__} read_csv + to_datetime: rows {rows} seconds {seconds:.3f} rows_per_second {int(rows / seconds)} peak_rss_bytes {peak}")
swift_rate, swift_peak = float(swift[5]), int(swift[7])
print(f"speed: fedct {swift_rate:,.0f} rows/s, pandas {rows / seconds:,.0f} rows/s, ratio fedct/pandas = {swift_rate / (rows / seconds):.2f}x")
print(f"memory: fedct peak RSS {swift_peak / 2**20:.0f} MiB = {swift_peak / size:.3f} x file size ({size / 2**20:.0f} MiB; goal well below 1), "
      f"pandas peak RSS {peak / 2**20:.0f} MiB = {peak / size:.2f} x file size, ratio fedct/pandas = {swift_peak / peak:.3f}")
PY
