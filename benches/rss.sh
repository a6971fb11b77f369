#!/usr/bin/env bash
# Peak RSS of drills over a 4 GiB recovery point holding one 2 GiB file (and over a 1 GiB one
# holding a 512 MiB file, to show it is flat in the data size): restore and verify-only, plain
# and zstd. Data in $LIFEBOAT_BENCH_DIR/rss (generated once). Prints one line per drill.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
DIR=${LIFEBOAT_BENCH_DIR:-/tmp/lifeboat-bench}/rss
LIFEBOAT=${LIFEBOAT:-${CARGO_TARGET_DIR:-$here/../target}/release/lifeboat}
POINT=2026-11-21T020000Z
gen() { # NAME BIG_MIB OTHER_COUNT OTHER_MIB
    local p=$DIR/$1/plain/$POINT z=$DIR/$1/zst/$POINT
    [ -e "$DIR/$1/.complete" ] && return
    rm -rf "$DIR/$1"; mkdir -p "$p" "$z"
    # The big file: compressible text-like bytes, so the zstd variant really decodes.
    python3 -c "
import random,sys
r=random.Random(7); w=[bytes(r.choice(b'abcdefghij ') for _ in range(r.randint(3,9))) for _ in range(5000)]
block=b' '.join(r.choice(w) for _ in range(600000))[:4<<20]
out=open(sys.argv[1],'wb')
for i in range($2//4): out.write(block[i%4096:]+block[:i%4096])
" "$p/big.bin"
    for i in $(seq "$3"); do openssl rand -out "$p/other$i.bin" $(($4 << 20)); done
    (cd "$p" && b3sum -- *.bin > B3SUMS)
    for f in "$p"/*.bin; do zstd -q -1 -T2 "$f" -o "$z/$(basename "$f").zst"; done
    cp "$p/B3SUMS" "$z/B3SUMS"
    touch "$DIR/$1/.complete"
}
gen 4g 2048 8 256
gen 1g 512 2 256
for size in 1g 4g; do
    for kind in plain zst; do
        cat > "$DIR/$size-$kind.yaml" <<YAML
version: 1
name: rss-$size-$kind
source: { url: "file://$DIR/$size/$kind" }
recovery_points: { time: name, time_format: "%Y-%m-%dT%H%M%SZ" }
manifest: { path: B3SUMS, format: b3sum }
YAML
        for mode in restore verify-only; do
            extra=(); [ "$mode" = verify-only ] && extra=(--verify-only)
            mkdir -p "$DIR/scratch"
            /usr/bin/time -f "%M %e" -o "$DIR/time.txt" "$LIFEBOAT" drill "$DIR/$size-$kind.yaml" \
                --now 2026-11-22T02:00:00Z --evidence-dir "$DIR/evidence" --scratch-dir "$DIR/scratch" \
                --no-state --quiet "${extra[@]}" >/dev/null
            read -r kb secs < "$DIR/time.txt"
            bytes=$(du -sb "$DIR/$size/$kind/$POINT" | cut -f1)
            printf '%-3s %-5s %-11s stored %5.2f GiB  peak RSS %6.1f MiB  %6.2f s\n' \
                "$size" "$kind" "$mode" "$(echo "$bytes / 1073741824" | bc -l)" "$(echo "$kb / 1024" | bc -l)" "$secs"
        done
    done
done
rm -rf "$DIR/scratch" "$DIR/evidence"
