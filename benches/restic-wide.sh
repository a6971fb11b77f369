#!/usr/bin/env bash
# A restic drill of a sample drawn from one wide folder (a maildir, a cache: FILES files in
# one folder, so one tree of about 300 bytes per file), beside `restic restore --include` of
# the same files: wall time and peak RSS, medians over REPS alternating runs.
#
#   benches/restic-wide.sh                              # FILES=150000 SAMPLE=400 REPS=5
#   BASELINE=/tmp/lifeboat-old benches/restic-wide.sh   # also an older build, same run
#
# The real restic CLI backs the folder up once into $LIFEBOAT_BENCH_DIR/wide (default
# /tmp/lifeboat-bench/wide; about 40 MB for 150,000 files), reused by later runs.
# `LIFEBOAT=path` skips the release build. Not run by CI.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo_dir=$(cd "$here/.." && pwd)
DIR=${LIFEBOAT_BENCH_DIR:-/tmp/lifeboat-bench}/wide
FILES=${FILES:-150000}
SAMPLE=${SAMPLE:-400}
REPS=${REPS:-5}
export RESTIC_PASSWORD=lifeboat-bench-wide
export RESTIC_REPOSITORY=$DIR/repo-$FILES
say() { printf '== %s\n' "$*" >&2; }

if [ -z "${LIFEBOAT:-}" ]; then
    say "building lifeboat (release)"
    (cd "$repo_dir" && cargo build --release --locked -q -p lifeboat-cli)
    LIFEBOAT=${CARGO_TARGET_DIR:-$repo_dir/target}/release/lifeboat
fi
command -v restic >/dev/null || bash "$repo_dir/scripts/tools.sh" install restic
[ -x /usr/bin/time ] || bash "$repo_dir/scripts/tools.sh" install /usr/bin/time

if [ ! -e "$DIR/.complete-$FILES" ]; then
    say "backing up one folder of $FILES files with restic (once)"
    rm -rf "$DIR/data" "$RESTIC_REPOSITORY"; mkdir -p "$DIR/data/mail/inbox"
    python3 - "$DIR/data/mail/inbox" "$FILES" <<'PY'
import sys
folder, files = sys.argv[1], int(sys.argv[2])
for n in range(files):
    with open(f"{folder}/m{n:07d}.eml", "w") as f:
        f.write(f"message {n}\n" * 3)
PY
    restic init -q
    (cd "$DIR/data" && restic backup -q --host wide .)
    rm -rf "$DIR/data"
    touch "$DIR/.complete-$FILES"
fi

mkdir -p "$DIR/evidence" "$DIR/scratch"
cat > "$DIR/wide.yaml" <<YAML
version: 1
name: wide
source:
  url: file://$RESTIC_REPOSITORY
  format: restic
  restic: { password: $RESTIC_PASSWORD }
recovery_points: { select: latest }
sample: { files: $SAMPLE, seed: 7 }
scratch: { keep: always, sync: none }   # removed by this script outside the timer
YAML

# The files the drill samples, for restic restore --include: from one drill's evidence.
evidence=$("$LIFEBOAT" drill "$DIR/wide.yaml" --evidence-dir "$DIR/evidence" \
    --scratch-dir "$DIR/scratch" --no-state --quiet | tail -1)
python3 - "$evidence" > "$DIR/include.txt" <<'PY'
import json, sys
for f in json.load(open(sys.argv[1]))["recovery_points"][0]["files"]:
    print(f["path"])
PY
[ "$(wc -l < "$DIR/include.txt")" = "$SAMPLE" ] || { echo "the drill did not sample $SAMPLE files" >&2; exit 1; }

run() { # LABEL COMMAND...: appends "seconds kilobytes" to $DIR/LABEL.txt
    local label=$1; shift
    /usr/bin/time -o "$DIR/time.txt" -f '%e %M' "$@" >/dev/null 2>"$DIR/last.err" \
        || { cat "$DIR/last.err" >&2; exit 1; }
    cat "$DIR/time.txt" >> "$DIR/$label.txt"
    rm -rf "$DIR/scratch"/* "$DIR/restored"; sync
}
drill() { run "$1" "$2" drill "$DIR/wide.yaml" --evidence-dir "$DIR/evidence" \
    --scratch-dir "$DIR/scratch" --no-state --quiet; }
# restic 0.14 (Debian's) has no --include-file: one --include per file.
include=(); while read -r path; do include+=(--include "$path"); done < "$DIR/include.txt"
labels="lifeboat restic"; [ -n "${BASELINE:-}" ] && labels="$labels baseline"
for label in $labels; do : > "$DIR/$label.txt"; done
cat "$RESTIC_REPOSITORY"/data/*/* > /dev/null
for _ in $(seq "$REPS"); do
    drill lifeboat "$LIFEBOAT"
    [ -n "${BASELINE:-}" ] && drill baseline "$BASELINE"
    run restic restic restore latest --target "$DIR/restored" "${include[@]}"
done
echo "one folder of $FILES files, $SAMPLE sampled, $REPS runs each; $(nproc) cores"
for label in $labels; do
    python3 - "$DIR/$label.txt" "$label" <<'PY'
import statistics, sys
rows = [tuple(map(float, l.split())) for l in open(sys.argv[1])]
wall = [r[0] for r in rows]
print(f"  {sys.argv[2]:9} median {statistics.median(wall):6.2f} s  (runs {' '.join(f'{w:.2f}' for w in wall)})"
      f"  peak RSS {max(r[1] for r in rows) / 1024:.0f} MB")
PY
done
