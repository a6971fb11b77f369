#!/usr/bin/env bash
# Runs lifeboat and its peers on the same data sets, alternating, and prints medians and
# ratios for every row of the results table in benches/README.md — once with both cores, once
# pinned to one (taskset -c 0). Two shapes: `plain` (2.1 GB in 2,998 files, mostly small) and
# `large` (2.9 GB in 400 files of 1 KiB to 96 MiB).
#
#   benches/compare.sh                      # REPS=5, data in $LIFEBOAT_BENCH_DIR or /tmp/lifeboat-bench
#   REPS=3 SETTINGS=both benches/compare.sh # fewer repetitions, only the two-core setting
#   SHAPES=large benches/compare.sh         # only the set of larger files (no restic, no zstd)
#
# At the end (with the plain shape) it runs benches/restic.sh (a restic drill against restic
# restore --include and restic check --read-data-subset on the same repository), then
# benches/cloud.sh (restores and verify-only from S3 and Azure servers on loopback against the
# servers' own ceiling).
#
# The data set, its manifests, the .zst point and the restic repository are generated once
# into the cache folder (outside the repository) and reused. All runs are warm-cache: the page
# cache cannot be dropped reliably without root, so every file is read once before timing and
# each command's median is over repetitions that all start warm. Write runs are followed by
# `rm -rf` and `sync` outside the timer, so one run's writeback does not land in the next.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
DIR=${LIFEBOAT_BENCH_DIR:-/tmp/lifeboat-bench}
REPS=${REPS:-5}
SETTINGS=${SETTINGS:-"both pinned"}
POINT=2026-11-21T020000Z
NOW=2026-11-22T02:00:00Z
export RESTIC_PASSWORD=lifeboat-bench

say() { printf '== %s\n' "$*" >&2; }

# --- peers -------------------------------------------------------------------------------------
need_apt=()
command -v restic >/dev/null || need_apt+=(restic)
command -v zstd >/dev/null || need_apt+=(zstd)
command -v openssl >/dev/null || need_apt+=(openssl)
command -v taskset >/dev/null || need_apt+=(util-linux)
if ((${#need_apt[@]})); then
    say "installing ${need_apt[*]} with apt-get"
    sudo_=""; [ "$(id -u)" = 0 ] || sudo_=sudo
    $sudo_ apt-get update -qq && $sudo_ apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
if ! command -v b3sum >/dev/null; then
    say "installing b3sum with cargo"
    cargo install b3sum --locked
fi

# --- lifeboat ----------------------------------------------------------------------------------
target=${CARGO_TARGET_DIR:-$repo/target}
if [ -z "${LIFEBOAT:-}" ]; then
    say "building lifeboat (release)"
    (cd "$repo" && cargo build --release --locked -q -p lifeboat-cli)
    LIFEBOAT=$target/release/lifeboat
fi

# --- data sets, once --------------------------------------------------------------------------
# Each part is made once, under a lock ($DATASET_LOCK, default $DIR/.lock) so that two scripts
# sharing $DIR never generate at the same time, and marked done by a file of its own: a part
# already there (the restic repository restic.sh made, say) is reused, never regenerated.
plain=$DIR/plain/$POINT
zst=$DIR/zst/$POINT
large=$DIR/large/$POINT
mkdir -p "$DIR"
exec 9>"${DATASET_LOCK:-$DIR/.lock}"
flock 9
if [ ! -e "$DIR/.complete" ] && [ ! -e "$DIR/.plain-complete" ]; then
    say "generating the 2.1 GB data set in $DIR/plain (once)"
    rm -rf "$DIR/plain"
    python3 "$here/gen_dataset.py" "$DIR"
    touch "$DIR/.plain-complete"
fi
if [ ! -e "$plain/B3SUMS" ] || [ ! -e "$plain/SHA256SUMS" ]; then
    (cd "$plain" && find . -type f ! -name '*SUMS' -printf '%P\n' | LC_ALL=C sort > ../../files.txt)
    (cd "$plain" && xargs -d '\n' b3sum -- < ../../files.txt > B3SUMS.tmp && mv B3SUMS.tmp B3SUMS)
    (cd "$plain" && xargs -d '\n' openssl dgst -sha256 -r -- < ../../files.txt \
        | sed 's/ \*/  /' > SHA256SUMS.tmp && mv SHA256SUMS.tmp SHA256SUMS)
fi
if [ ! -e "$DIR/.complete" ] && [ ! -e "$DIR/.zst-complete" ]; then
    # The .zst point: every file of folders d00-d11 (about a third of the files and half the
    # bytes, both 200 MiB files included), stored compressed, manifest of the plain bytes.
    say "compressing the .zst point (once)"
    rm -rf "$DIR/zst"
    mkdir -p "$zst"
    grep -E '^d(0[0-9]|1[01])/' "$DIR/files.txt" > "$DIR/zst-files.txt"
    while read -r f; do
        mkdir -p "$zst/$(dirname "$f")"
        zstd -q -3 -T2 "$plain/$f" -o "$zst/$f.zst"
    done < "$DIR/zst-files.txt"
    (cd "$plain" && xargs -d '\n' b3sum -- < ../../zst-files.txt > "$zst/B3SUMS")
    touch "$DIR/.zst-complete"
fi
if [ ! -e "$DIR/.complete" ] && [ ! -e "$DIR/.restic-complete" ]; then
    say "backing the data set up with restic (once)"
    rm -rf "$DIR/restic"
    restic init -q -r "$DIR/restic"
    (cd "$DIR/plain" && restic -q -r "$DIR/restic" backup "$POINT" >/dev/null)
    touch "$DIR/.restic-complete"
fi
# The second shape (issue 18): ~400 files, 1 KiB to 96 MiB, 2.9 GB, where the per-byte cost
# of a restore dominates the per-file cost that the 3,000 files of the first shape add.
if [ ! -e "$DIR/.large-complete" ]; then
    say "generating the 2.9 GB data set of larger files in $DIR/large (once)"
    rm -rf "$DIR/large"
    python3 "$here/gen_dataset.py" "$DIR" large
    touch "$DIR/.large-complete"
fi
if [ ! -e "$large/B3SUMS" ]; then
    (cd "$large" && find . -type f ! -name '*SUMS' -printf '%P\n' | LC_ALL=C sort > ../../large-files.txt)
    (cd "$large" && xargs -d '\n' b3sum -- < ../../large-files.txt > B3SUMS.tmp && mv B3SUMS.tmp B3SUMS)
fi
flock -u 9
mkdir -p "$DIR/runbooks" "$DIR/evidence" "$DIR/scratch"
runbook() { # NAME SOURCE MANIFEST FORMAT [SCRATCH_OPTIONS]
    cat > "$DIR/runbooks/$1.yaml" <<YAML
version: 1
name: $1
source: { url: "file://$2" }
recovery_points: { time: name, time_format: "%Y-%m-%dT%H%M%SZ", select: latest }
manifest: { path: $3, format: $4 }
scratch: { keep: always${5:+, $5} }   # removed by this script outside the timer
YAML
}
runbook bench-b3 "$DIR/plain" B3SUMS b3sum
# The same restore with the bytes left in the page cache, as cp -r and restic restore leave them.
runbook bench-b3-nosync "$DIR/plain" B3SUMS b3sum "sync: none"
runbook bench-sha "$DIR/plain" SHA256SUMS sha256sum
runbook bench-zst "$DIR/zst" B3SUMS b3sum
runbook bench-large "$DIR/large" B3SUMS b3sum
runbook bench-large-nosync "$DIR/large" B3SUMS b3sum "sync: none"
# Two openssl processes, each given half the bytes (greedy by size, largest first).
(cd "$plain" && find . -type f ! -name '*SUMS' -printf '%s %P\n' | sort -rn | awk \
    -v a="$DIR/half-a.txt" -v b="$DIR/half-b.txt" \
    'BEGIN{printf "" > a; printf "" > b} { if (sa <= sb) { print $2 > a; sa += $1 } else { print $2 > b; sb += $1 } }')
bytes_plain=$(du -sb --apparent-size "$plain" | cut -f1)
bytes_large=$(du -sb --apparent-size "$large" | cut -f1)
bytes_zst=$(awk '{print $2}' "$zst/B3SUMS" | (cd "$plain" && xargs -d '\n' stat -c %s) | paste -sd+ | bc)

# --- the commands ------------------------------------------------------------------------------
drill() { "$LIFEBOAT" drill "$DIR/runbooks/$1.yaml" --now "$NOW" --evidence-dir "$DIR/evidence" \
    --scratch-dir "$DIR/scratch" --no-state --quiet "${@:2}"; }
lb_vo_b3() { drill bench-b3 --verify-only; }
lb_vo_sha() { drill bench-sha --verify-only; }
lb_restore() { drill bench-b3; }
lb_restore_nosync() { drill bench-b3-nosync; }
lb_zst() { drill bench-zst; }
lb_large_vo() { drill bench-large --verify-only; }
lb_large() { drill bench-large; }
lb_large_nosync() { drill bench-large-nosync; }
b3sum_check_large() { (cd "$large" && b3sum --check --quiet B3SUMS); }
cp_r_large() { cp -r "$large" "$DIR/scratch/cp"; }
cp_r_sync_large() { cp -r "$large" "$DIR/scratch/cp" && sync; }
b3sum_check() { (cd "$plain" && b3sum --check --quiet B3SUMS); }
openssl_2p() { (cd "$plain" && { xargs -d '\n' openssl dgst -sha256 -- < "$DIR/half-a.txt" >/dev/null &
    xargs -d '\n' openssl dgst -sha256 -- < "$DIR/half-b.txt" >/dev/null; wait; }); }
restic_check() { restic -q -r "$DIR/restic" check --read-data; }
cp_r() { cp -r "$plain" "$DIR/scratch/cp"; }
# Not a target row: cp -r leaves its bytes dirty in the page cache, while lifeboat fdatasyncs
# every restored file before calling it verified; this shows what durability costs cp.
cp_r_sync() { cp -r "$plain" "$DIR/scratch/cp" && sync; }
restic_restore() { restic -q -r "$DIR/restic" restore latest --target "$DIR/scratch/restic"; }
zstd_b3sum() { (cd "$zst" && find . -name '*.zst' -print0 \
    | xargs -0 -P2 -n1 sh -c 'zstd -dc "$1" | b3sum >/dev/null' _); }
# SHAPES: which data sets to time ("plain large" by default; "large" alone skips the
# restic and zstd rows too, which only the plain set has).
SHAPES=${SHAPES:-"plain large"}
ORDER=""
[[ " $SHAPES " == *" plain "* ]] && ORDER="lb_vo_b3 b3sum_check lb_vo_sha openssl_2p restic_check lb_restore cp_r lb_restore_nosync cp_r_sync restic_restore lb_zst zstd_b3sum"
[[ " $SHAPES " == *" large "* ]] && ORDER="$ORDER lb_large_vo b3sum_check_large lb_large_nosync cp_r_large lb_large cp_r_sync_large"

# Every timed command starts from the same memory state (settle.sh).
# shellcheck source=settle.sh
source "$here/settle.sh"
clean() { rm -rf "$DIR/scratch"/* "$DIR/evidence"/*; sync; settle; }
timed() { # SETTING CMD -> appends "SETTING CMD SECONDS" to results
    local pin=() s e
    [ "$1" = pinned ] && pin=(taskset -c 0)
    clean
    s=$(date +%s.%N)
    if ! "${pin[@]}" bash -c "$(declare -f); $(declare -p DIR plain zst large LIFEBOAT NOW RESTIC_PASSWORD); $2" >/dev/null 2>"$DIR/last.err"; then
        echo "FAILED: $2 ($1)" >&2; cat "$DIR/last.err" >&2; exit 1
    fi
    e=$(date +%s.%N)
    echo "$1 $2 $(echo "$e - $s" | bc)" >> "$results"
}

# --- run ---------------------------------------------------------------------------------------
say "machine and versions"
{ lscpu | grep -E '^(Model name|CPU\(s\)|Flags)' | sed 's/\(Flags:\).*\(sha_ni\).*/\1 ... \2 .../'
  uname -sr; "$LIFEBOAT" --version; b3sum --version; openssl version; restic version; zstd --version
  cp --version | head -1; findmnt -no FSTYPE,OPTIONS -T "$DIR"; } >&2
say "pre-warming the page cache"
cat "$plain"/*/*/* "$zst"/*/*/* "$large"/*/*/* "$DIR"/restic/data/*/* > /dev/null
results=$DIR/results-$(date +%Y%m%dT%H%M%S).txt
: > "$results"
say "machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); results in $results"
for setting in $SETTINGS; do
    for rep in $(seq "$REPS"); do
        say "$setting: repetition $rep of $REPS"
        for cmd in $ORDER; do timed "$setting" "$cmd"; done
    done
done
clean

python3 - "$results" "$bytes_plain" "$bytes_zst" "$bytes_large" <<'PY'
import statistics, sys
from collections import defaultdict
path, plain, zst, large = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
t = defaultdict(list)
for line in open(path):
    s, c, x = line.split()
    t[(s, c)].append(float(x))
rows = [
    ("verify-only, BLAKE3 manifest", "lb_vo_b3", "b3sum --check", "b3sum_check", 0.9, plain),
    ("verify-only, SHA-256 manifest", "lb_vo_sha", "openssl dgst -sha256 x2", "openssl_2p", 0.9, plain),
    ("verify-only, BLAKE3 manifest", "lb_vo_b3", "restic check --read-data", "restic_check", 2.0, plain),
    ("verify-only, SHA-256 manifest", "lb_vo_sha", "restic check --read-data", "restic_check", 2.0, plain),
    ("restore + verify, sync: file (default)", "lb_restore", "cp -r", "cp_r", 0.9, plain),
    ("restore + verify, sync: file (default)", "lb_restore", "restic restore", "restic_restore", 3.0, plain),
    ("restore + verify, sync: file (default)", "lb_restore", "cp -r && sync (not a target)", "cp_r_sync", 0.0, plain),
    ("restore + verify, sync: none", "lb_restore_nosync", "cp -r", "cp_r", 0.9, plain),
    ("restore + verify, sync: none", "lb_restore_nosync", "restic restore", "restic_restore", 3.0, plain),
    ("zstd objects, restore + verify", "lb_zst", "zstd -dc | b3sum x2", "zstd_b3sum", 0.9, zst),
    ("large files: verify-only, BLAKE3", "lb_large_vo", "b3sum --check", "b3sum_check_large", 0.95, large),
    ("large files: restore + verify, sync: none", "lb_large_nosync", "cp -r", "cp_r_large", 0.9, large),
    ("large files: restore + verify, sync: file (default)", "lb_large", "cp -r && sync (not a target)", "cp_r_sync_large", 0.0, large),
]
print(f"\nplain set {plain/1e9:.2f} GB; zst set {zst/1e9:.2f} GB restored bytes; large set {large/1e9:.2f} GB; medians of n runs, warm cache")
print("| setting | lifeboat | s | GB/s | peer | s | ratio (peer time / lifeboat time) | target | met |")
print("|---|---|---|---|---|---|---|---|---|")
for s in ("both", "pinned"):
    for name, a, pname, b, target, size in rows:
        if (s, a) not in t or (s, b) not in t:
            continue
        ma, mb = statistics.median(t[(s, a)]), statistics.median(t[(s, b)])
        r = mb / ma
        met = "-" if target == 0 else ("yes" if r >= target else "NO")
        print(f"| {s} | {name} | {ma:.2f} | {size/ma/1e9:.2f} | {pname} | {mb:.2f} | {r:.2f}x | {'-' if target == 0 else f'>= {target}x'} | {met} |")
print("\nall runs (s):")
for k, v in sorted(t.items()):
    print(f"  {k[0]:6} {k[1]:15} " + " ".join(f"{x:.2f}" for x in v))
PY

# --- restic repositories: a drill of the same repository against restic itself ---------------
if [[ " $SHAPES " == *" plain "* ]]; then
    say "restic: a drill against restic restore --include and restic check --read-data-subset"
    LIFEBOAT=$LIFEBOAT REPS=$REPS SETTINGS="$SETTINGS" LIFEBOAT_BENCH_DIR=$DIR bash "$here/restic.sh"

    # --- cloud sources: S3 (s3s-fs) and Azure (Azurite) on loopback against their own ceiling -
    say "cloud: lifeboat from s3s-fs and Azurite against the servers' ceiling and rclone"
    LIFEBOAT=$LIFEBOAT REPS=$REPS LIFEBOAT_BENCH_DIR=$DIR bash "$here/cloud.sh"
fi
