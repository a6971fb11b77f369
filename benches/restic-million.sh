#!/usr/bin/env bash
# Peak RSS of lifeboat on a restic repository of about a million blobs, beside restic itself.
# Not run by CI: the repository takes minutes to make and about 1.5 GB of disk while it exists.
#
#   benches/restic-million.sh            # FILES=1000000 (1000 folders x 1000 files)
#   FILES=200000 benches/restic-million.sh
#   KEEP=1 benches/restic-million.sh     # keep the repository for another run
#   MAKE_ONLY=1 benches/restic-million.sh # only make the repository (kept), measure later
#
# The real restic CLI backs up FILES small files, each with unique content: one data blob per
# file, plus a tree blob per folder. Then, with /usr/bin/time -v's "Maximum resident set size":
#   - `lifeboat plan` (opens the repository, reads its whole index, lists the snapshot's files),
#   - `lifeboat drill` of a sample of 5 files (the same, then restores and verifies them),
#   - `restic restore --include` of the same 5 files, and `restic check` (index and trees).
# Everything is in $LIFEBOAT_BENCH_DIR/million (default /tmp/lifeboat-bench/million), removed
# at the end unless KEEP=1.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo_dir=$(cd "$here/.." && pwd)
DIR=${LIFEBOAT_BENCH_DIR:-/tmp/lifeboat-bench}/million
FILES=${FILES:-1000000}
LIFEBOAT=${LIFEBOAT:-${CARGO_TARGET_DIR:-$repo_dir/target}/release/lifeboat}
export RESTIC_PASSWORD=lifeboat-bench-million
export RESTIC_REPOSITORY=$DIR/repo
say() { printf '== %s\n' "$*" >&2; }
[ -n "${MAKE_ONLY:-}" ] || [ -x "$LIFEBOAT" ] || { echo "no lifeboat at $LIFEBOAT: cargo build --release -p lifeboat-cli, or set LIFEBOAT" >&2; exit 1; }

if [ ! -e "$DIR/.complete-$FILES" ]; then
    rm -rf "$DIR"; mkdir -p "$DIR/tree"
    say "writing $FILES small files with unique content"
    s=$(date +%s)
    python3 - "$DIR/tree" "$FILES" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
per = 1000
for d in range((n + per - 1) // per):
    folder = os.path.join(root, "data", f"d{d:04}")
    os.makedirs(folder)
    for f in range(min(per, n - d * per)):
        with open(os.path.join(folder, f"f{f:04}.txt"), "w") as out:
            out.write(f"file {d} {f}: " + os.urandom(24).hex() + "\n")
PY
    say "files written in $(( $(date +%s) - s )) s; restic init and backup"
    restic init -q --repository-version 2
    s=$(date +%s)
    (cd "$DIR/tree" && restic -q --no-cache backup --host bench --time "2026-11-21 02:00:00" data >/dev/null)
    echo "$(( $(date +%s) - s ))" > "$DIR/backup-seconds"
    say "backed up in $(cat "$DIR/backup-seconds") s"
    rm -rf "$DIR/tree"
    touch "$DIR/.complete-$FILES"
fi
[ -z "${MAKE_ONLY:-}" ] || exit 0
blobs=$(restic --no-cache list blobs | wc -l)
repo_bytes=$(du -sb "$DIR/repo" | cut -f1)
index_bytes=$(du -sb "$DIR/repo/index" | cut -f1)

mkdir -p "$DIR/scratch" "$DIR/evidence"
cat > "$DIR/million.yaml" <<YAML
version: 1
name: restic-million
source:
  url: "file://$DIR/repo"
  format: restic
  restic:
    password: \${RESTIC_PASSWORD}
sample:
  files: 5
  seed: 1
scratch: { keep: always }
YAML

peak() { # LABEL CMD... -> prints "LABEL peak-RSS-MiB seconds"
    local label=$1; shift
    /usr/bin/time -v -o "$DIR/time.txt" "$@" >"$DIR/out.txt" 2>"$DIR/err.txt" || {
        echo "FAILED: $label" >&2; cat "$DIR/err.txt" "$DIR/out.txt" >&2; exit 1; }
    local kb secs
    kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$DIR/time.txt")
    secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$DIR/time.txt")
    printf '| %s | %.1f | %s |\n' "$label" "$(echo "$kb / 1024" | bc -l)" "$secs"
}
NOW=2026-11-22T02:00:00Z
{
    echo "repository: $FILES files, $blobs blobs, $(echo "$repo_bytes / 1048576" | bc) MiB ($(echo "$index_bytes / 1048576" | bc) MiB of index)"
    echo "restic backup took $(cat "$DIR/backup-seconds") s; machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "$("$LIFEBOAT" --version), $(restic version | cut -d' ' -f1-2)"
    echo
    echo "| command | peak RSS (MiB) | wall (m:ss) |"
    echo "|---|---|---|"
    peak "lifeboat plan" "$LIFEBOAT" plan "$DIR/million.yaml" --now "$NOW"
    peak "lifeboat drill (5 files)" "$LIFEBOAT" drill "$DIR/million.yaml" --now "$NOW" \
        --evidence-dir "$DIR/evidence" --scratch-dir "$DIR/scratch" --no-state --quiet
    # The same five files, by restic.
    python3 - "$DIR/evidence" > "$DIR/sampled.txt" <<'PY'
import json, pathlib, sys
records = [json.loads(p.read_text()) for p in pathlib.Path(sys.argv[1]).rglob("*.json")]
e = next(r for r in records if r.get("recovery_points"))
for f in e["recovery_points"][0]["files"]:
    print(f["path"])
PY
    mapfile -t sampled < "$DIR/sampled.txt"
    [ "${#sampled[@]}" -gt 0 ] || { echo "the drill sampled no file" >&2; exit 1; }
    include=(); for f in "${sampled[@]}"; do include+=(--include "$f"); done
    peak "restic restore --include (same 5 files)" restic --no-cache restore latest \
        --target "$DIR/scratch/restic" "${include[@]}"
    peak "restic check (index and trees)" restic --no-cache check
}
rm -rf "$DIR/scratch" "$DIR/evidence"
[ "${KEEP:-0}" = 1 ] || rm -rf "$DIR"
