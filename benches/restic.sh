#!/usr/bin/env bash
# A lifeboat drill of a restic repository against restic itself on the same repository and
# the same files, alternating, medians and ratios, both cores and one (taskset -c 0):
#
#   - lifeboat drill: a seeded sample of the snapshot's files, each restored into the scratch
#     area with every chunk decrypted and its SHA-256 checked (scratch.sync: file, the
#     default, and sync: none, the peers' durability);
#   - restic restore --include of exactly the files the drill sampled;
#   - restic check --read-data-subset SIZE, SIZE the stored bytes of those files' chunks
#     (restic picks that much of its packs at random: the same amount of data, not the
#     same packs).
#
#   benches/restic.sh                        # REPS=5, SAMPLE=300 files, both settings
#   REPS=3 SETTINGS=both benches/restic.sh
#   BASELINE=/tmp/lifeboat-old benches/restic.sh   # also an older lifeboat build, same run
#
# The repository is compare.sh's (`restic backup` of its ~2 GB data set), made here if it is
# not there yet; data in $LIFEBOAT_BENCH_DIR (default /tmp/lifeboat-bench). `LIFEBOAT=path`
# skips the release build. compare.sh calls this script at its end.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
DIR=${LIFEBOAT_BENCH_DIR:-/tmp/lifeboat-bench}
REPS=${REPS:-5}
SETTINGS=${SETTINGS:-"both pinned"}
SAMPLE=${SAMPLE:-300}
POINT=2026-11-21T020000Z
export RESTIC_PASSWORD=lifeboat-bench
say() { printf '== %s\n' "$*" >&2; }

target=${CARGO_TARGET_DIR:-$repo/target}
if [ -z "${LIFEBOAT:-}" ]; then
    say "building lifeboat (release)"
    (cd "$repo" && cargo build --release --locked -q -p lifeboat-cli)
    LIFEBOAT=$target/release/lifeboat
fi

if [ ! -e "$DIR/.complete" ] && [ ! -e "$DIR/.restic-complete" ] && [ ! -e "$DIR/.plain-complete" ]; then
    say "generating the data set in $DIR (once)"
    rm -rf "$DIR/plain"
    mkdir -p "$DIR"
    python3 "$here/gen_dataset.py" "$DIR"
    touch "$DIR/.plain-complete"
fi
if [ ! -e "$DIR/.complete" ] && [ ! -e "$DIR/.restic-complete" ]; then
    say "backing the data set up with restic (once)"
    # The repository holds the data set as compare.sh leaves it, its two manifests included,
    # whichever script makes it: the sample is drawn from the snapshot's paths, so a snapshot
    # without them draws other files (with seed 7, 0.322 GB with the 200 MiB file instead of
    # 0.219 GB; benches/README.md, tenth pass). The lines are b3sum's and sha256sum's.
    plain=$DIR/plain/$POINT
    if [ ! -e "$plain/B3SUMS" ] || [ ! -e "$plain/SHA256SUMS" ]; then
        rm -f "$plain/B3SUMS" "$plain/SHA256SUMS"
        (cd "$plain" && find . -type f -printf '%P\n' | LC_ALL=C sort > ../../files.txt)
        "$LIFEBOAT" manifest "$plain" --algorithm blake3 > "$DIR/B3SUMS.tmp"
        (cd "$plain" && xargs -d '\n' sha256sum -- < ../../files.txt > "$DIR/SHA256SUMS.tmp")
        mv "$DIR/B3SUMS.tmp" "$plain/B3SUMS" && mv "$DIR/SHA256SUMS.tmp" "$plain/SHA256SUMS"
    fi
    rm -rf "$DIR/restic"
    restic init -q -r "$DIR/restic"
    (cd "$DIR/plain" && restic -q -r "$DIR/restic" backup "$POINT" >/dev/null)
    touch "$DIR/.restic-complete"
fi

# The snapshot is taken when the repository is made (just above, on a first run): T0 is now,
# after it.
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)

w=$DIR/restic-bench
rm -rf "$w"; mkdir -p "$w/evidence" "$w/scratch"
runbook() { # NAME SYNC
    cat > "$w/$1.yaml" <<YAML
version: 1
name: $1
source:
  url: "file://$DIR/restic"
  format: restic
  restic:
    password: \${RESTIC_PASSWORD}
recovery_points: { select: latest }
sample: { files: $SAMPLE, seed: 7 }
scratch: { keep: always, sync: $2 }   # removed by this script outside the timer
YAML
}
runbook restic-sync file
runbook restic-nosync none

# One untimed drill says which files the sample holds and how large they are.
say "drilling once to learn the sample"
"$LIFEBOAT" drill "$w/restic-sync.yaml" --now "$NOW" --evidence-dir "$w/evidence" \
    --scratch-dir "$w/scratch" --no-state --quiet >/dev/null
python3 - "$w" <<'PY'
import json, pathlib, sys
w = pathlib.Path(sys.argv[1])
records = [json.loads(p.read_text()) for p in w.joinpath("evidence").rglob("*.json")]
e = next(r for r in records if r.get("recovery_points"))
point = e["recovery_points"][0]
files = point["files"]
assert all(f["outcome"] == "passed" for f in files), "the bench drill did not pass"
w.joinpath("include.txt").write_text("".join(f["path"] + "\n" for f in files))
w.joinpath("plain-bytes").write_text(str(sum(f["bytes"] for f in files)))
w.joinpath("stored-bytes").write_text(str(sum(f["object_bytes"] for f in files)))
w.joinpath("snapshot").write_text(point["id"])
PY
plain_bytes=$(cat "$w/plain-bytes")
stored_bytes=$(cat "$w/stored-bytes")
snapshot=$(cat "$w/snapshot")
say "sample: $(wc -l < "$w/include.txt") files, $plain_bytes bytes ($stored_bytes stored) of snapshot ${snapshot:0:8}"

# --- the commands ------------------------------------------------------------------------------
drill() { "$LIFEBOAT" drill "$w/$1.yaml" --now "$NOW" --evidence-dir "$w/evidence" \
    --scratch-dir "$w/scratch" --no-state --quiet; }
lb_restic() { drill restic-sync; }
lb_restic_nosync() { drill restic-nosync; }
lb_baseline() { "$BASELINE" drill "$w/restic-sync.yaml" --now "$NOW" --evidence-dir "$w/evidence" \
    --scratch-dir "$w/scratch" --no-state --quiet; }
restic_restore_include() {
    local args=(); while read -r f; do args+=(--include "$f"); done < "$w/include.txt"
    restic -q --no-cache -r "$DIR/restic" restore "$snapshot" --target "$w/scratch/restic" "${args[@]}"; }
restic_check_subset() { restic -q --no-cache -r "$DIR/restic" check --read-data-subset "$((stored_bytes / 1024))K"; }  # restic wants a unit
ORDER="lb_restic restic_restore_include restic_check_subset lb_restic_nosync"
[ -n "${BASELINE:-}" ] && ORDER="$ORDER lb_baseline"

# Every timed command starts from the same memory state (settle.sh).
# shellcheck source=settle.sh
source "$here/settle.sh"
clean() { rm -rf "$w/scratch"/* "$w/evidence"/*; sync; settle; }
say "pre-warming the page cache"
cat "$DIR"/restic/data/*/* > /dev/null
results=$w/results-$(date +%Y%m%dT%H%M%S).txt
: > "$results"
say "machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); $("$LIFEBOAT" --version); $(restic version | cut -d' ' -f1-2)"
for setting in $SETTINGS; do
    for rep in $(seq "$REPS"); do
        say "$setting: repetition $rep of $REPS"
        for cmd in $ORDER; do
            pin=(); [ "$setting" = pinned ] && pin=(taskset -c 0)
            clean
            s=$(date +%s.%N)
            if ! "${pin[@]}" bash -c "$(declare -f); $(declare -p DIR w LIFEBOAT NOW RESTIC_PASSWORD snapshot stored_bytes); BASELINE=${BASELINE:-}; $cmd" >/dev/null 2>"$w/last.err"; then
                echo "FAILED: $cmd ($setting)" >&2; cat "$w/last.err" >&2; exit 1
            fi
            e=$(date +%s.%N)
            echo "$setting $cmd $(echo "$e - $s" | bc)" >> "$results"
        done
    done
done
clean
say "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$results" "$plain_bytes" "$stored_bytes" "$(wc -l < "$w/include.txt")" <<'PY'
import statistics, sys
from collections import defaultdict
path, plain, stored, files = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
t = defaultdict(list)
for line in open(path):
    s, c, x = line.split()
    t[(s, c)].append(float(x))
rows = [
    ("drill, sync: file (default)", "lb_restic", "restic restore --include (same files)", "restic_restore_include", 2.0),
    ("drill, sync: none", "lb_restic_nosync", "restic restore --include (same files)", "restic_restore_include", 2.0),
    ("drill, sync: file (default)", "lb_restic", "restic check --read-data-subset (same bytes)", "restic_check_subset", 0.0),
    ("drill, sync: none", "lb_restic_nosync", "restic check --read-data-subset (same bytes)", "restic_check_subset", 0.0),
    ("drill, sync: file (default)", "lb_restic", "BASELINE lifeboat drill, sync: file", "lb_baseline", 0.0),
]
print(f"\nsample: {files} files, {plain/1e9:.3f} GB restored ({stored/1e9:.3f} GB stored); medians, warm cache")
print("| cores | lifeboat | s | GB/s | peer | s | ratio (peer / lifeboat) | target | met |")
print("|---|---|---|---|---|---|---|---|---|")
for s in ("both", "pinned"):
    for name, a, pname, b, target in rows:
        if (s, a) not in t or (s, b) not in t:
            continue
        ma, mb = statistics.median(t[(s, a)]), statistics.median(t[(s, b)])
        r = mb / ma
        met = "-" if target == 0 else ("yes" if r >= target else "NO")
        cores = "2" if s == "both" else "1"
        print(f"| {cores} | {name} | {ma:.2f} | {plain/ma/1e9:.2f} | {pname} | {mb:.2f} | {r:.2f}x | {'-' if target == 0 else f'>= {target}x'} | {met} |")
print("\nall runs (s):")
for k, v in sorted(t.items()):
    print(f"  {k[0]:6} {k[1]:24} " + " ".join(f"{x:.2f}" for x in v))
PY
