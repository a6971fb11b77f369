#!/usr/bin/env bash
# Cloud sources against the server's own ceiling: lifeboat restoring and verifying a point
# from s3s-fs (S3) and Azurite (Azure Blob) on 127.0.0.1, beside a client that does nothing
# but parallel ranged GETs (crates/lifeboat-storage/examples/ceiling.rs), `rclone copy
# --transfers 8` and `rclone hashsum sha256 --download`, alternating; medians and ratios.
#
#   benches/cloud.sh                          # REPS=5, data in $LIFEBOAT_BENCH_DIR or /tmp/lifeboat-bench
#   REPS=3 benches/cloud.sh                   # fewer repetitions
#   SWEEP=0 benches/cloud.sh                  # skip the ceiling sweep, use CEILING="C R" (default 16 8)
#   ONLY="lb_s3_vo ceil_s3" benches/cloud.sh  # time only these commands
#   LIFEBOAT_B=/path/to/other/lifeboat benches/cloud.sh   # A/B: both builds in one rotation, taking turns first
#   OPTIONS_B="parallel_reads: 8" benches/cloud.sh         # A/B: B with these source options
#   SCRATCH_B="sync: none" benches/cloud.sh                # A/B: B with these scratch settings
#   SWEEP_C="8 16" SWEEP_R="8" benches/cloud.sh            # a smaller ceiling sweep
#
# compare.sh runs it at its end; it also runs alone. The point is the odd-numbered folders of
# compare.sh's data set (d01, d03, ..., d35: about 0.99 GB in 1,500 files, 1 KiB to 200 MiB,
# half random, half text, the same shape as the whole set), uploaded with rclone once per run
# into servers started by scripts/servers.sh with fresh random credentials. The credentials
# stay in the environment and in the servers' env file: nothing here prints them, and the
# runbooks read them as ${VAR}.
#
# First a sweep of the ceiling client over concurrency x range size (one run each, both
# servers); the best setting of each server is its ceiling and joins the timed rotation.
# Each timed run records wall time and the CPU seconds of the client (user + system, from
# /usr/bin/time) and of the server process (from /proc/PID/stat), since on 2 cores the server
# and the client compete for the same CPU.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
DIR=${LIFEBOAT_BENCH_DIR:-/tmp/lifeboat-bench}
REPS=${REPS:-5}
SWEEP=${SWEEP:-1}
LIFEBOAT_B=${LIFEBOAT_B:-}
OPTIONS_B=${OPTIONS_B:-}
SCRATCH_B=${SCRATCH_B:-}
SWEEP_C=${SWEEP_C:-"4 8 16 32"}
SWEEP_R=${SWEEP_R:-"2 8 32"}
POINT=2026-11-21T020000Z
NOW=2026-11-22T02:00:00Z
FOLDERS='^d[0-9][13579]/'
BUCKET=lifeboat-cloud-bench

say() { printf '== %s\n' "$*" >&2; }

# --- peers -------------------------------------------------------------------------------------
if ! command -v rclone >/dev/null; then
    say "installing rclone with apt-get"
    sudo_=""; [ "$(id -u)" = 0 ] || sudo_=sudo
    $sudo_ apt-get update -qq && $sudo_ apt-get install -y -qq rclone >/dev/null
fi

# --- lifeboat and the ceiling client -----------------------------------------------------------
target=${CARGO_TARGET_DIR:-$repo/target}
if [ -z "${LIFEBOAT:-}" ]; then
    say "building lifeboat (release)"
    (cd "$repo" && cargo build --release --locked -q -p lifeboat-cli)
    LIFEBOAT=$target/release/lifeboat
fi
if [ -z "${CEILING_BIN:-}" ]; then
    say "building the ceiling client (release)"
    (cd "$repo" && cargo build --release --locked -q -p lifeboat-storage --example ceiling)
    CEILING_BIN=$target/release/examples/ceiling
fi

# --- the point, once ---------------------------------------------------------------------------
plain=$DIR/plain/$POINT
if [ ! -d "$plain" ]; then
    say "generating compare.sh's data set in $DIR (once)"
    mkdir -p "$DIR"
    python3 "$here/gen_dataset.py" "$DIR"
fi
src=$DIR/cloud/$POINT
if [ ! -e "$DIR/cloud/.complete" ]; then
    say "linking the cloud point (odd-numbered folders) into $DIR/cloud"
    rm -rf "$DIR/cloud"
    mkdir -p "$src"
    (cd "$plain" && find . -type f ! -name '*SUMS' -printf '%P\n' | grep -E "$FOLDERS" \
        | LC_ALL=C sort | while IFS= read -r f; do
            mkdir -p "$src/$(dirname "$f")" && ln "$f" "$src/$f"; done)
    "$LIFEBOAT" manifest "$src" --algorithm blake3 > "$DIR/cloud/B3SUMS.tmp"
    mv "$DIR/cloud/B3SUMS.tmp" "$src/B3SUMS"
    touch "$DIR/cloud/.complete"
fi
bytes=$(du -sb --apparent-size "$src" | cut -f1)
files=$(find "$src" -type f ! -name B3SUMS | wc -l)

# --- servers -----------------------------------------------------------------------------------
run=$DIR/cloud-servers
say "starting s3s-fs and Azurite (scripts/servers.sh)"
# The env file holds the fresh credentials: never printed.
bash "$repo/scripts/servers.sh" start --run-dir "$run" --watch-pid $$ --ephemeral >/dev/null
trap 'bash "$repo/scripts/servers.sh" stop --run-dir "$run" >/dev/null 2>&1 || true; rm -rf "$DIR/cloud-scratch" "$DIR/cloud-evidence"' EXIT
set -a
# shellcheck disable=SC1091
source "$run/env"
set +a
# moto is not measured (it answers every request in ~170 ms whatever its size): stop it now so
# it takes no CPU.
kill "$LIFEBOAT_MOTO_PID" 2>/dev/null || true

export RCLONE_CONFIG_LBS3_TYPE=s3 RCLONE_CONFIG_LBS3_PROVIDER=Other \
    RCLONE_CONFIG_LBS3_ENDPOINT=$LIFEBOAT_S3S_ENDPOINT RCLONE_CONFIG_LBS3_REGION=us-east-1 \
    RCLONE_CONFIG_LBS3_ACCESS_KEY_ID=$LIFEBOAT_S3S_ACCESS_KEY_ID \
    RCLONE_CONFIG_LBS3_SECRET_ACCESS_KEY=$LIFEBOAT_S3S_SECRET_ACCESS_KEY
# rclone 1.60 builds an Azure endpoint as https://ACCOUNT.SUFFIX and its emulator mode knows
# only port 10000, so it reaches this Azurite through a container SAS URL (made below).
export RCLONE_CONFIG_LBAZ_TYPE=azureblob
export CEILING_S3_ACCESS_KEY_ID=$LIFEBOAT_S3S_ACCESS_KEY_ID \
    CEILING_S3_SECRET_ACCESS_KEY=$LIFEBOAT_S3S_SECRET_ACCESS_KEY \
    CEILING_AZ_ACCOUNT=$LIFEBOAT_AZURITE_ACCOUNT CEILING_AZ_KEY=$LIFEBOAT_AZURITE_KEY
export RCLONE_CONFIG=/dev/null
# rclone's S3 SDK refuses to start when AWS_CA_BUNDLE is set (its HTTP transport is not the
# SDK's own); the servers are plain HTTP on loopback, no CA is needed.
unset AWS_CA_BUNDLE

say "uploading $files files, $((bytes / 1000000)) MB, to both servers (rclone)"
# s3s-fs: a bucket is a folder under its root.
mkdir -p "$LIFEBOAT_S3S_ROOT/$BUCKET"
RCLONE_CONFIG_LBAZ_SAS_URL=$(python3 - "$BUCKET" <<'PY'
# One SharedKey-signed `PUT ?restype=container`, then an account SAS (version 2019-12-12,
# read/write/list, a day long) for rclone. The key comes from the environment.
import base64, datetime, email.utils, hashlib, hmac, os, sys, urllib.parse, urllib.request
acct, key = os.environ["LIFEBOAT_AZURITE_ACCOUNT"], base64.b64decode(os.environ["LIFEBOAT_AZURITE_KEY"])
endpoint, container = os.environ["LIFEBOAT_AZURITE_ENDPOINT"], sys.argv[1]
sign = lambda text: base64.b64encode(hmac.new(key, text.encode(), hashlib.sha256).digest()).decode()
date, ver = email.utils.formatdate(usegmt=True), "2021-08-06"
sts = "PUT\n" + "\n" * 11 + f"x-ms-date:{date}\nx-ms-version:{ver}\n/{acct}/{acct}/{container}\nrestype:container"
urllib.request.urlopen(urllib.request.Request(
    f"{endpoint}/{acct}/{container}?restype=container", method="PUT",
    headers={"x-ms-date": date, "x-ms-version": ver, "Content-Length": "0",
             "Authorization": f"SharedKey {acct}:{sign(sts)}"}))
expiry = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
q = {"sv": "2019-12-12", "ss": "b", "srt": "sco", "sp": "rwdlac", "se": expiry, "spr": "https,http"}
q["sig"] = sign(f"{acct}\n{q['sp']}\n{q['ss']}\n{q['srt']}\n\n{q['se']}\n\n{q['spr']}\n{q['sv']}\n")
print(f"{endpoint}/{acct}/{container}?{urllib.parse.urlencode(q)}")
PY
)
export RCLONE_CONFIG_LBAZ_SAS_URL
rclone copy --transfers 8 "$src" "lbs3:$BUCKET/set/$POINT"
rclone copy --transfers 8 "$src" "lbaz:$BUCKET/set/$POINT"

mkdir -p "$DIR/cloud-runbooks" "$DIR/cloud-scratch" "$DIR/cloud-evidence" "$DIR/cloud-out"
runbook() { # NAME URL OPTIONS [SCRATCH]
    cat > "$DIR/cloud-runbooks/$1.yaml" <<YAML
version: 1
name: $1
source:
  url: "$2"
  options: { $3 }
recovery_points: { time: name, time_format: "%Y-%m-%dT%H%M%SZ", select: latest }
manifest: { path: B3SUMS, format: b3sum }
scratch: { keep: always${4:+, $4} }   # removed by this script outside the timer
YAML
}
# ${VAR}: the runbooks name the credentials, lifeboat reads them from the environment.
# shellcheck disable=SC2016
s3_options='endpoint: "${LIFEBOAT_S3S_ENDPOINT}", allow_http: "true",
    region: us-east-1, access_key_id: "${LIFEBOAT_S3S_ACCESS_KEY_ID}",
    secret_access_key: "${LIFEBOAT_S3S_SECRET_ACCESS_KEY}"'
# shellcheck disable=SC2016
az_options='use_emulator: "true", endpoint: "${LIFEBOAT_AZURITE_ENDPOINT}",
    account_name: "${LIFEBOAT_AZURITE_ACCOUNT}", access_key: "${LIFEBOAT_AZURITE_KEY}"'
runbook cloud-s3 "s3://$BUCKET/set" "$s3_options"
runbook cloud-az "az://$BUCKET/set" "$az_options"
# The B side of an A/B: OPTIONS_B adds source options (e.g. "parallel_reads: 8"), SCRATCH_B
# scratch settings (e.g. "sync: none").
runbook cloud-s3-b "s3://$BUCKET/set" "$s3_options${OPTIONS_B:+, $OPTIONS_B}" "$SCRATCH_B"
runbook cloud-az-b "az://$BUCKET/set" "$az_options${OPTIONS_B:+, $OPTIONS_B}" "$SCRATCH_B"

# --- the commands ------------------------------------------------------------------------------
drill() { "${BIN:-$LIFEBOAT}" drill "$DIR/cloud-runbooks/$1.yaml" --now "$NOW" \
    --evidence-dir "$DIR/cloud-evidence" --scratch-dir "$DIR/cloud-scratch" --no-state --quiet "${@:2}"; }
lb_s3_restore() { drill cloud-s3; }
lb_s3_vo() { drill cloud-s3 --verify-only; }
lb_az_restore() { drill cloud-az; }
lb_az_vo() { drill cloud-az --verify-only; }
# B: LIFEBOAT_B (another build) and/or OPTIONS_B, timed in the same rotation as A.
lbB_s3_restore() { BIN=${LIFEBOAT_B:-$LIFEBOAT} drill cloud-s3-b; }
lbB_s3_vo() { BIN=${LIFEBOAT_B:-$LIFEBOAT} drill cloud-s3-b --verify-only; }
lbB_az_restore() { BIN=${LIFEBOAT_B:-$LIFEBOAT} drill cloud-az-b; }
lbB_az_vo() { BIN=${LIFEBOAT_B:-$LIFEBOAT} drill cloud-az-b --verify-only; }
ceil() { "$CEILING_BIN" "$1" "$2" "$BUCKET" "set/$POINT" "$3" "$4" > "$DIR/cloud-out/ceiling.txt"; }
ceil_s3() { ceil s3 "$LIFEBOAT_S3S_ENDPOINT" $CEIL_S3; }
ceil_az() { ceil az "$LIFEBOAT_AZURITE_ENDPOINT" $CEIL_AZ; }
# rclone is pointed at the whole bucket, which holds only the point: given a folder inside it,
# rclone first HEADs the folder's name as an object, s3s-fs answers 500 (the name is a
# directory on its disk), and rclone retries for minutes.
# Each checks that it fetched something: an empty listing must not pass as a fast copy.
rclone_copy() { rclone copy --transfers 8 "$1" "$DIR/cloud-scratch/rclone" &&
    [ -n "$(find "$DIR/cloud-scratch/rclone" -type f -print -quit)" ]; }
rclone_s3_copy() { rclone_copy "lbs3:$BUCKET"; }
rclone_az_copy() { rclone_copy "lbaz:$BUCKET"; }
# A hashsum that hashed nothing must not pass as a fast one: count its lines.
hashsum() { local n; n=$(rclone hashsum sha256 --download "$1" | wc -l)
    [ "$n" -gt 0 ] || { echo "rclone hashsum $1 listed no file" >&2; return 1; }; }
rclone_s3_hash() { hashsum "lbs3:$BUCKET"; }
rclone_az_hash() { hashsum "lbaz:$BUCKET"; }

server_pid() { case "$1" in *_s3*) echo "$LIFEBOAT_S3S_PID" ;; *) echo "$LIFEBOAT_AZURITE_PID" ;; esac; }
server_cpu() { # PID -> user+system seconds so far
    python3 -c 'import os,sys; f=open(f"/proc/{sys.argv[1]}/stat").read().rsplit(")",1)[1].split(); t=os.sysconf("SC_CLK_TCK"); print((int(f[11])+int(f[12]))/t)' "$1"
}
# Every timed command starts from the same memory state (settle.sh).
# shellcheck source=settle.sh
source "$here/settle.sh"
clean() { rm -rf "$DIR/cloud-scratch"/* "$DIR/cloud-evidence"/*; sync; settle; }
timed() { # CMD -> appends "CMD WALL CLIENT_CPU SERVER_CPU" to $results
    local pid s0 s1 w
    pid=$(server_pid "$1")
    clean
    s0=$(server_cpu "$pid")
    if ! /usr/bin/time -f '%e %U %S' -o "$DIR/cloud-out/time.txt" \
        bash -c "$(declare -f); $(declare -p DIR LIFEBOAT LIFEBOAT_B CEILING_BIN NOW BUCKET POINT CEIL_S3 CEIL_AZ); $1" \
        >/dev/null 2>"$DIR/cloud-out/last.err"; then
        echo "FAILED: $1" >&2; tail -n 20 "$DIR/cloud-out/last.err" >&2; exit 1
    fi
    s1=$(server_cpu "$pid")
    w=$(tail -n 1 "$DIR/cloud-out/time.txt")
    echo "$1 $(echo "$w" | awk '{print $1, $2 + $3}') $(echo "$s1 - $s0" | bc)" >> "$results"
}

# --- run ---------------------------------------------------------------------------------------
say "machine and versions"
{ lscpu | grep -E '^(Model name|CPU\(s\))'; uname -sr; "$LIFEBOAT" --version; rclone version | sed -n 1p
  echo "s3s-fs $(ls -a "$repo/.servers/s3s-fs/" | sed -n 's/^\.installed-//p')" 2>/dev/null || true
  echo "Azurite $(ls -a "$repo/.servers/azurite/" | sed -n 's/^\.installed-//p')" 2>/dev/null || true
} >&2
say "load before: $(uptime)"
results=$DIR/cloud-out/results-$(date +%Y%m%dT%H%M%S).txt
: > "$results"

CEILING_DEFAULT=${CEILING:-"16 8"}
CEIL_S3=$CEILING_DEFAULT; CEIL_AZ=$CEILING_DEFAULT
if [ "$SWEEP" = 1 ]; then
    say "ceiling sweep: concurrency x range MiB, one run each"
    sweep=$DIR/cloud-out/sweep.txt; : > "$sweep"
    for c in $SWEEP_C; do
        for r in $SWEEP_R; do
            for srv in s3 az; do
                if [ $srv = s3 ]; then ep=$LIFEBOAT_S3S_ENDPOINT; pid=$LIFEBOAT_S3S_PID
                else ep=$LIFEBOAT_AZURITE_ENDPOINT; pid=$LIFEBOAT_AZURITE_PID; fi
                s0=$(server_cpu "$pid")
                line=$("$CEILING_BIN" $srv "$ep" "$BUCKET" "set/$POINT" $c $r)
                s1=$(server_cpu "$pid")
                echo "$srv $c $r $line $(echo "$s1 - $s0" | bc)" | tee -a "$sweep" >&2
            done
        done
    done
    # bytes / seconds: the best setting of each server is its ceiling.
    CEIL_S3=$(awk '$1=="s3" {r=$4/$5; if (r>b) {b=r; s=$2" "$3}} END {print s}' "$sweep")
    CEIL_AZ=$(awk '$1=="az" {r=$4/$5; if (r>b) {b=r; s=$2" "$3}} END {print s}' "$sweep")
fi
say "ceiling settings (concurrency, range MiB): s3s-fs $CEIL_S3, Azurite $CEIL_AZ"

# rclone_s3_hash is left out: against s3s-fs 0.14.1, rclone 1.60's hashsum --download of the
# bucket finished in 0.1 s with exit code 0 and the server idle (0.01 CPU s): it hashed
# nothing. Not investigated; add it with ONLY=... to look into it (the check below now fails it).
ORDER=${ONLY:-"ceil_s3 lb_s3_vo lb_s3_restore rclone_s3_copy ceil_az lb_az_vo lb_az_restore rclone_az_copy rclone_az_hash"}
if [ -n "$LIFEBOAT_B$OPTIONS_B$SCRATCH_B" ] && [ -z "${ONLY:-}" ]; then
    ORDER="ceil_s3 lb_s3_vo lbB_s3_vo lb_s3_restore lbB_s3_restore ceil_az lb_az_vo lbB_az_vo lb_az_restore lbB_az_restore"
fi
# In an A/B, A and B take turns going first (every other repetition each adjacent pair
# lb_X lbB_X is swapped): a restore run right after another pays for the files the clean-up
# between them deleted (ext4 without a journal scans recently freed inodes on every create;
# benches/README.md, sixth and seventh passes), so a fixed order charges B for A.
swap_ab() {
    awk '{ for (i = 1; i <= NF; i++) {
             a = $i; b = (i < NF) ? $(i + 1) : ""
             sa = a; sub(/^lbB?_/, "", sa); sb = b; sub(/^lbB?_/, "", sb)
             if (b != "" && sa == sb && a ~ /^lbB?_/ && b ~ /^lbB?_/ && a != b) {
                 printf "%s %s ", b, a; i++
             } else printf "%s ", a
           } print "" }' <<< "$1"
}
for rep in $(seq "$REPS"); do
    say "repetition $rep of $REPS (load $(cut -d' ' -f1-3 /proc/loadavg))"
    order=$ORDER
    [ $((rep % 2)) -eq 0 ] && order=$(swap_ab "$ORDER")
    for cmd in $order; do timed "$cmd"; done
done
clean
say "load after: $(uptime)"

python3 - "$results" "$bytes" "$files" "$CEIL_S3" "$CEIL_AZ" <<'PY'
import statistics, sys
from collections import defaultdict
path, size, files, cs3, caz = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
runs = defaultdict(list)
for line in open(path):
    c, w, cpu, scpu = line.split()
    runs[c].append((float(w), float(cpu), float(scpu)))
def med(c, i):
    return statistics.median(r[i] for r in runs[c])
print(f"\npoint: {files} files, {size/1e9:.2f} GB; medians of {min(len(v) for v in runs.values())} alternating runs")
print("| server | command | s | MB/s | client CPU s | server CPU s | ceiling / command time | target |")
print("|---|---|---|---|---|---|---|---|")
for srv, ceil, name in (("s3", cs3, "s3s-fs"), ("az", caz, "Azurite")):
    base = f"ceil_{srv}"
    if base not in runs:
        continue
    rows = [(base, f"ceiling client ({ceil.replace(' ', ' GETs x ')} MiB)", None),
            (f"lb_{srv}_vo", "lifeboat verify-only", 0.8),
            (f"lbB_{srv}_vo", "lifeboat B verify-only", 0.8),
            (f"lb_{srv}_restore", "lifeboat restore + verify", 0.8),
            (f"lbB_{srv}_restore", "lifeboat B restore + verify", 0.8),
            (f"rclone_{srv}_copy", "rclone copy --transfers 8", None),
            (f"rclone_{srv}_hash", "rclone hashsum sha256 --download", None)]
    for c, label, target in rows:
        if c not in runs:
            continue
        w = med(c, 0)
        r = med(base, 0) / w
        met = "-" if target is None else (f">= {target}x: " + ("met" if r >= target else "NOT met"))
        print(f"| {name} | {label} | {w:.2f} | {size/w/1e6:.0f} | {med(c, 1):.2f} | {med(c, 2):.2f} | {r:.2f}x | {met} |")
print("\nall runs (wall s / client CPU s / server CPU s):")
for c, v in runs.items():
    print(f"  {c:16} " + "  ".join(f"{w:.2f}/{u:.2f}/{s:.2f}" for w, u, s in v))
PY
