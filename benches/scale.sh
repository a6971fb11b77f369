#!/usr/bin/env bash
# Scale checks with the real binary (peak RSS and wall time from /usr/bin/time):
#  1. a recovery point whose manifest lists 1,000,000 entries, 20 sampled: listing, reading
#     and parsing the manifest, drawing the sample, restoring the 20 files, evidence;
#  2. sources holding 1,000 / 10,000 / 30,000 recovery points (time: name): listing and
#     selecting them must grow linearly, not quadratically.
# Data in $LIFEBOAT_BENCH_DIR/scale (generated once).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
DIR=${LIFEBOAT_BENCH_DIR:-/tmp/lifeboat-bench}/scale
LIFEBOAT=${LIFEBOAT:-${CARGO_TARGET_DIR:-$here/../target}/release/lifeboat}
POINT=2026-11-21T020000Z
NOW=2026-11-22T02:00:00Z
mkdir -p "$DIR"
measure() { # LABEL RUNBOOK
    /usr/bin/time -f "%M %e" -o "$DIR/time.txt" "$LIFEBOAT" drill "$2" --now "$NOW" \
        --evidence-dir "$DIR/evidence" --scratch-dir "$DIR/scratch" --no-state --quiet >/dev/null || true
    read -r kb secs < "$DIR/time.txt"
    printf '%-34s %6.2f s  peak RSS %6.1f MiB\n' "$1" "$secs" "$(echo "$kb / 1024" | bc -l)"
}

# 1. One million entries. Every entry names an empty file (so its digest is known without
# creating a million files); only the sampled ones are created, after a first run names them.
m=$DIR/million
if [ ! -e "$m/.complete" ]; then
    rm -rf "$m"; mkdir -p "$m/$POINT"
    python3 -c "
import sys
e='e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
with open(sys.argv[1],'w') as f:
    for i in range(1000000): f.write(f'{e}  dir{i%1000:03d}/sub{i%7}/file-{i:07d}.dat\n')
" "$m/$POINT/SHA256SUMS"
    touch "$m/.complete"
fi
cat > "$DIR/million.yaml" <<YAML
version: 1
name: scale-million
source: { url: "file://$m" }
recovery_points: { time: name, time_format: "%Y-%m-%dT%H%M%SZ" }
manifest: { path: SHA256SUMS, format: sha256sum }
sample: { files: 20, seed: 42 }
YAML
mkdir -p "$DIR/scratch"
"$LIFEBOAT" drill "$DIR/million.yaml" --now "$NOW" --evidence-dir "$DIR/evidence" \
    --scratch-dir "$DIR/scratch" --no-state --quiet > "$DIR/out.txt" || true
python3 -c "
import json,sys,os
e=json.load(open(open(sys.argv[1]).read().split()[-1]))
for f in e['recovery_points'][0]['files']:
    p=os.path.join(sys.argv[2],f['path']); os.makedirs(os.path.dirname(p),exist_ok=True); open(p,'a').close()
" "$DIR/out.txt" "$m/$POINT"
echo "manifest: $(du -h "$m/$POINT/SHA256SUMS" | cut -f1), 1,000,000 entries, sample of 20"
for i in 1 2 3; do measure "1M-entry manifest, run $i" "$DIR/million.yaml"; done

# 2. Many recovery points: only the newest has a manifest and a file.
for n in 1000 10000 30000; do
    s=$DIR/points-$n
    if [ ! -e "$s/.complete" ]; then
        rm -rf "$s"; mkdir -p "$s"
        python3 -c "
import os,sys,datetime
root,n=sys.argv[1],int(sys.argv[2])
t=datetime.datetime(2026,11,21,2,0,0)
for i in range(n):
    os.mkdir(os.path.join(root,(t-datetime.timedelta(hours=i)).strftime('%Y-%m-%dT%H%M%SZ')))
" "$s" "$n"
        echo hello > "$s/$POINT/a.txt"
        (cd "$s/$POINT" && sha256sum a.txt > SHA256SUMS)
        touch "$s/.complete"
    fi
    for sel in latest all; do
        cat > "$DIR/points-$n-$sel.yaml" <<YAML
version: 1
name: scale-points
source: { url: "file://$s" }
recovery_points: { time: name, time_format: "%Y-%m-%dT%H%M%SZ", select: $sel }
manifest: { path: SHA256SUMS, format: sha256sum }
YAML
        measure "$n points, select: $sel" "$DIR/points-$n-$sel.yaml"
    done
done
rm -rf "$DIR/scratch" "$DIR/evidence"
