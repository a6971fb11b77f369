#!/usr/bin/env bash
# The fixed cost of a drill: what a drill of a one-file recovery point costs whatever the data
# (start-up, listing, reading the manifest, evidence written and fsynced, reports rendered).
#
#   benches/fixed-cost.sh             # RUNS=50; LIFEBOAT=path skips the build
#
# Prints the median and spread of the wall time of the whole process (measured here), and,
# from each run's own evidence record, the drill's time from `started_at` to `finished_at` and
# the measured RTO (the restore of the one file): the rest of the wall time is start-up before
# the drill's clock starts and the evidence, ledger and reports written after it stops.
# Then one `strace -c -f` of the same drill (system calls by count) and its fsyncs.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
DIR=${LIFEBOAT_BENCH_DIR:-/tmp/lifeboat-bench}/fixed-cost
RUNS=${RUNS:-50}
POINT=2026-11-21T020000Z
NOW=2026-11-22T02:00:00Z

target=${CARGO_TARGET_DIR:-$repo/target}
if [ -z "${LIFEBOAT:-}" ]; then
    (cd "$repo" && cargo build --release --locked -q -p lifeboat-cli)
    LIFEBOAT=$target/release/lifeboat
fi

rm -rf "$DIR"
mkdir -p "$DIR/src/$POINT" "$DIR/evidence" "$DIR/scratch"
printf 'one line of a one-file recovery point\n' > "$DIR/src/$POINT/file.txt"
"$LIFEBOAT" manifest "$DIR/src/$POINT" --algorithm blake3 -o "$DIR/src/$POINT/B3SUMS"
for sync in file none; do
    cat > "$DIR/one-$sync.yaml" <<YAML
version: 1
name: one-$sync
source: { url: "file://$DIR/src" }
recovery_points: { time: name, time_format: "%Y-%m-%dT%H%M%SZ", select: latest }
manifest: { path: B3SUMS, format: b3sum }
scratch: { sync: $sync }
YAML
done

drill() { "$LIFEBOAT" drill "$DIR/$1.yaml" --now "$NOW" --evidence-dir "$DIR/evidence" \
    --scratch-dir "$DIR/scratch" --no-state --quiet; }
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for runbook in one-file one-none; do
    : > "$DIR/times.txt"
    for _ in $(seq "$RUNS"); do
        s=$(date +%s%N)
        evidence=$(drill "$runbook" | tail -1)
        e=$(date +%s%N)
        python3 - "$evidence" "$(( (e - s) / 1000 ))" >> "$DIR/times.txt" <<'PY'
import json, sys
from datetime import datetime
r = json.load(open(sys.argv[1]))
t = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
print(int(sys.argv[2]) / 1e3, (t(r["finished_at"]) - t(r["started_at"])) * 1e3,
      (r["measured"]["rto_seconds"] or 0) * 1e3)
PY
    done
    python3 - "$DIR/times.txt" "$runbook" "$RUNS" <<'PY'
import statistics, sys
rows = [tuple(map(float, l.split())) for l in open(sys.argv[1])]
wall, drill, rto = (sorted(c) for c in zip(*rows))
q = lambda v, p: v[min(len(v) - 1, int(p * len(v)))]
print(f"{sys.argv[2]}: {sys.argv[3]} runs; ms median (p10-p90)")
for name, v in (("process wall", wall), ("drill, started_at to finished_at", drill),
                ("measured RTO (restore of the file)", rto)):
    print(f"  {name:36} {statistics.median(v):7.1f} ({q(v, .1):.1f}-{q(v, .9):.1f})")
print(f"  {'outside the drill clock':36} {statistics.median(wall) - statistics.median(drill):7.1f}")
PY
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
if command -v strace >/dev/null; then
    strace -f -c -o "$DIR/strace.txt" "$LIFEBOAT" drill "$DIR/one-file.yaml" --now "$NOW" \
        --evidence-dir "$DIR/evidence" --scratch-dir "$DIR/scratch" --no-state --quiet >/dev/null
    echo "strace -c -f of one drill (sync: file), top calls:"
    sed -n '3,14p' "$DIR/strace.txt"
    grep -E ' (fsync|fdatasync|sync_file_range)$' "$DIR/strace.txt" || true
fi
rm -rf "$DIR"
