#!/usr/bin/env bash
# Local storage servers for lifeboat's cloud tests and examples, on 127.0.0.1 only:
#
#   moto      S3 API (python, in a venv). Does not check signatures: the fast, forgiving one.
#   s3s-fs    S3 API (Rust, `cargo install`ed). Checks SigV4 signatures: the one that refuses
#             a wrong secret.
#   Azurite   Azure Blob API (node, `npm install`ed). Always with --disableTelemetry.
#
# Everything is installed under one git-ignored folder, .servers/ at the top of the repo
# (override with LIFEBOAT_SERVERS_DIR), once per clone; nothing is assumed to be installed
# beyond python3, node/npm and cargo. With LIFEBOAT_NO_INSTALL=1 nothing is installed: a
# server that is missing fails `install` and `start`, naming it.
#
#   scripts/servers.sh install [moto|s3s|azurite]...
#                                              install whatever is missing (idempotent)
#   scripts/servers.sh start [--run-dir DIR] [--watch-pid PID] [--ephemeral]
#                                              install if needed, start all three at free
#                                              ports, wait until each answers, write DIR/env
#                                              and print it
#   scripts/servers.sh stop [--run-dir DIR]    stop the servers started with that run dir
#
# DIR defaults to .servers/run. DIR/env holds KEY='VALUE' lines (endpoints, ports, pids,
# generated credentials), readable by `source` and by the Rust test harness. The credentials
# are fresh random values on every start, so a leak search can look for them.
#
# --watch-pid PID: a watcher stops the servers as soon as process PID exits (the test
# harness passes its own pid, so no server outlives `cargo test`). --ephemeral: the watcher
# (or `stop`) also removes DIR.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
base="${LIFEBOAT_SERVERS_DIR:-$repo/.servers}"

MOTO_VERSION=5.2.5
S3S_FS_VERSION=0.14.1
AZURITE_VERSION=3.35.0
READY_DEADLINE=${LIFEBOAT_SERVERS_DEADLINE:-60}   # seconds, per server

die() { echo "servers.sh: $*" >&2; exit 1; }
log() { echo "servers.sh: $*" >&2; }

need() {
  command -v "$1" >/dev/null 2>&1 || die "$1 is required ($2)"
}

# --- install -------------------------------------------------------------------------------

# Whether each server is installed, at the pinned version.
have_moto() { [[ -f "$base/moto/.installed-$MOTO_VERSION" && -x "$base/moto/venv/bin/moto_server" ]]; }
have_s3s() { [[ -f "$base/s3s-fs/.installed-$S3S_FS_VERSION" && -x "$base/s3s-fs/bin/s3s-fs" ]]; }
have_azurite() {
  [[ -f "$base/azurite/.installed-$AZURITE_VERSION" && -x "$base/azurite/node_modules/.bin/azurite-blob" ]]
}

# With LIFEBOAT_NO_INSTALL=1 nothing is installed: fail naming every server that is missing.
refuse_to_install() {
  local missing=() what
  for what in "$@"; do "have_$what" || missing+=("$(label "$what")"); done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  die "not installed under $base: ${missing[*]}, and LIFEBOAT_NO_INSTALL is set; run 'bash scripts/servers.sh install' without it (or point LIFEBOAT_SERVERS_DIR at an installed copy)"
}

label() {
  case "$1" in
    moto) echo "moto $MOTO_VERSION" ;;
    s3s) echo "s3s-fs $S3S_FS_VERSION" ;;
    azurite) echo "Azurite $AZURITE_VERSION" ;;
  esac
}

install_moto() {
  local dir="$base/moto"
  have_moto && return 0
  need python3 "for moto, the S3 test server: install Python 3 with its venv module"
  log "installing moto $MOTO_VERSION into $dir/venv"
  rm -rf "$dir"
  mkdir -p "$dir"
  python3 -m venv "$dir/venv" ||
    die "python3 -m venv failed: install Python's venv module (Debian: apt-get install python3-venv)"
  "$dir/venv/bin/pip" install --quiet --disable-pip-version-check \
    "moto[s3]==$MOTO_VERSION" flask flask-cors >"$dir/install.log" 2>&1 ||
    { tail -n 30 "$dir/install.log" >&2; die "pip install moto failed (log: $dir/install.log)"; }
  touch "$dir/.installed-$MOTO_VERSION"
}

install_s3s() {
  local dir="$base/s3s-fs"
  have_s3s && return 0
  need cargo "for s3s-fs, the signature-checking S3 test server: https://rustup.rs"
  log "building s3s-fs $S3S_FS_VERSION into $dir (about 2.5 minutes on 2 cores, once per clone)"
  mkdir -p "$dir"
  # Its own target folder: not the workspace's (a shared CARGO_TARGET_DIR would mix them).
  env -u CARGO_TARGET_DIR -u CARGO_BUILD_TARGET_DIR cargo install "s3s-fs@$S3S_FS_VERSION" \
    --locked --features binary --root "$dir" --target-dir "$dir/build" \
    >"$dir/install.log" 2>&1 ||
    { tail -n 30 "$dir/install.log" >&2; die "cargo install s3s-fs failed (log: $dir/install.log)"; }
  rm -rf "$dir/build"
  touch "$dir/.installed-$S3S_FS_VERSION"
}

install_azurite() {
  local dir="$base/azurite"
  have_azurite && return 0
  need node "for Azurite, the Azure Blob test server: install Node.js 20"
  need npm "for Azurite, the Azure Blob test server: install npm"
  log "installing Azurite $AZURITE_VERSION into $dir"
  rm -rf "$dir"
  mkdir -p "$dir"
  echo '{"private": true}' >"$dir/package.json"
  (cd "$dir" && npm install --no-audit --no-fund --loglevel=error "azurite@$AZURITE_VERSION") \
    >"$dir/install.log" 2>&1 ||
    { tail -n 30 "$dir/install.log" >&2; die "npm install azurite failed (log: $dir/install.log)"; }
  touch "$dir/.installed-$AZURITE_VERSION"
}

install_all() {
  if [[ "${LIFEBOAT_NO_INSTALL:-}" == 1 ]]; then refuse_to_install moto azurite s3s; return 0; fi
  mkdir -p "$base"
  # One installer at a time per clone: parallel test processes may all ask at once.
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$base/.install.lock"
    flock 9
  fi
  local t0=$SECONDS
  install_moto
  install_azurite
  install_s3s
  if ((SECONDS - t0 > 1)); then log "installed in $((SECONDS - t0))s"; fi
  if command -v flock >/dev/null 2>&1; then exec 9>&-; fi
}

# --- start / stop --------------------------------------------------------------------------

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Any HTTP answer (even 403/404) means the server is up.
answers() {
  python3 - "$1" <<'EOF' >/dev/null 2>&1
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(sys.argv[1], timeout=1)
except urllib.error.HTTPError:
    pass
EOF
}

# wait_ready NAME PID URL LOG
wait_ready() {
  local name=$1 pid=$2 url=$3 logfile=$4
  local deadline=$((SECONDS + READY_DEADLINE))
  while ! answers "$url"; do
    if ! alive "$pid"; then
      echo "--- last lines of $logfile" >&2
      tail -n 30 "$logfile" >&2 || true
      die "$name exited before it answered on $url"
    fi
    if ((SECONDS >= deadline)); then
      echo "--- last lines of $logfile" >&2
      tail -n 30 "$logfile" >&2 || true
      kill "$pid" 2>/dev/null || true
      die "$name did not answer on $url within ${READY_DEADLINE}s"
    fi
    sleep 0.1
  done
}

random_hex() { python3 -c "import secrets; print(secrets.token_hex($1))"; }
random_b64() { python3 -c "import secrets, base64; print(base64.b64encode(secrets.token_bytes($1)).decode())"; }

# Running, and not a zombie waiting for a (re)parent to reap it.
alive() {
  local state
  state=$(sed -E 's/^.*\) (.).*$/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n "$state" && "$state" != Z && "$state" != X ]]
}

stop_pids() {
  local pid
  for pid in "$@"; do kill "$pid" 2>/dev/null || true; done
  for _ in $(seq 50); do
    local any=0
    for pid in "$@"; do alive "$pid" && any=1; done
    ((any)) || return 0
    sleep 0.1
  done
  for pid in "$@"; do kill -9 "$pid" 2>/dev/null || true; done
}

start() {
  local run_dir="$base/run" watch_pid="" ephemeral=0
  while (($#)); do
    case "$1" in
      --run-dir) run_dir=$2; shift 2 ;;
      --watch-pid) watch_pid=$2; shift 2 ;;
      --ephemeral) ephemeral=1; shift ;;
      *) die "start: unknown argument $1" ;;
    esac
  done
  [[ "$run_dir" != *"'"* ]] || die "run dir must not contain a single quote: $run_dir"
  if [[ -f "$run_dir/env" ]]; then
    stop --run-dir "$run_dir"
  fi
  install_all
  mkdir -p "$run_dir"
  run_dir="$(cd "$run_dir" && pwd)"
  rm -rf "$run_dir/s3s-root" "$run_dir/azurite-data"
  mkdir -p "$run_dir/s3s-root" "$run_dir/azurite-data"
  local t0=$SECONDS

  local moto_port s3s_port az_port
  moto_port=$(free_port)
  s3s_port=$(free_port)
  az_port=$(free_port)
  while [[ $s3s_port == "$moto_port" ]]; do s3s_port=$(free_port); done
  while [[ $az_port == "$moto_port" || $az_port == "$s3s_port" ]]; do az_port=$(free_port); done

  local s3s_key s3s_secret az_account az_key
  s3s_key="lbkey$(random_hex 6)"
  s3s_secret="lbsecret$(random_hex 16)"
  az_account="lifeboat$(random_hex 4)"
  az_key="$(random_b64 32)"

  "$base/moto/venv/bin/moto_server" -H 127.0.0.1 -p "$moto_port" \
    </dev/null >"$run_dir/moto.log" 2>&1 &
  local moto_pid=$!

  "$base/s3s-fs/bin/s3s-fs" --host 127.0.0.1 --port "$s3s_port" \
    --access-key "$s3s_key" --secret-key "$s3s_secret" "$run_dir/s3s-root" \
    </dev/null >"$run_dir/s3s-fs.log" 2>&1 &
  local s3s_pid=$!

  # A custom account with a fresh key (AZURITE_ACCOUNTS replaces the well-known dev account),
  # so a leaked key is findable and no test passes by accident with the published dev key.
  AZURITE_ACCOUNTS="$az_account:$az_key" \
    "$base/azurite/node_modules/.bin/azurite-blob" --blobHost 127.0.0.1 --blobPort "$az_port" \
    --location "$run_dir/azurite-data" --disableTelemetry --skipApiVersionCheck --loose \
    </dev/null >"$run_dir/azurite.log" 2>&1 &
  local az_pid=$!

  # If anything below fails, do not leave half the servers running.
  trap 'stop_pids '"$moto_pid $s3s_pid $az_pid" ERR EXIT
  wait_ready moto "$moto_pid" "http://127.0.0.1:$moto_port/moto-api/" "$run_dir/moto.log"
  wait_ready s3s-fs "$s3s_pid" "http://127.0.0.1:$s3s_port/" "$run_dir/s3s-fs.log"
  wait_ready azurite "$az_pid" "http://127.0.0.1:$az_port/$az_account?comp=list" "$run_dir/azurite.log"
  trap - ERR EXIT

  local watcher_pid=""
  if [[ -n "$watch_pid" ]]; then
    (
      trap '' HUP
      while alive "$watch_pid"; do sleep 0.5; done
      stop_pids "$moto_pid" "$s3s_pid" "$az_pid"
      ((ephemeral)) && rm -rf "$run_dir"
    ) </dev/null >/dev/null 2>&1 &
    watcher_pid=$!
  fi

  {
    echo "LIFEBOAT_SERVERS_RUN_DIR='$run_dir'"
    echo "LIFEBOAT_SERVERS_EPHEMERAL='$ephemeral'"
    echo "LIFEBOAT_SERVERS_WATCHER_PID='$watcher_pid'"
    echo "LIFEBOAT_MOTO_ENDPOINT='http://127.0.0.1:$moto_port'"
    echo "LIFEBOAT_MOTO_PORT='$moto_port'"
    echo "LIFEBOAT_MOTO_PID='$moto_pid'"
    echo "LIFEBOAT_S3S_ENDPOINT='http://127.0.0.1:$s3s_port'"
    echo "LIFEBOAT_S3S_PORT='$s3s_port'"
    echo "LIFEBOAT_S3S_PID='$s3s_pid'"
    echo "LIFEBOAT_S3S_ACCESS_KEY_ID='$s3s_key'"
    echo "LIFEBOAT_S3S_SECRET_ACCESS_KEY='$s3s_secret'"
    echo "LIFEBOAT_S3S_ROOT='$run_dir/s3s-root'"
    echo "LIFEBOAT_AZURITE_ENDPOINT='http://127.0.0.1:$az_port'"
    echo "LIFEBOAT_AZURITE_PORT='$az_port'"
    echo "LIFEBOAT_AZURITE_PID='$az_pid'"
    echo "LIFEBOAT_AZURITE_ACCOUNT='$az_account'"
    echo "LIFEBOAT_AZURITE_KEY='$az_key'"
  } >"$run_dir/env.tmp"
  mv "$run_dir/env.tmp" "$run_dir/env"
  log "moto, s3s-fs and Azurite answer on 127.0.0.1 ports $moto_port, $s3s_port, $az_port (started in $((SECONDS - t0))s); env: $run_dir/env"
  cat "$run_dir/env"
}

stop() {
  local run_dir="$base/run"
  while (($#)); do
    case "$1" in
      --run-dir) run_dir=$2; shift 2 ;;
      *) die "stop: unknown argument $1" ;;
    esac
  done
  local env="$run_dir/env"
  [[ -f "$env" ]] || { log "nothing to stop: no $env"; return 0; }
  local LIFEBOAT_MOTO_PID="" LIFEBOAT_S3S_PID="" LIFEBOAT_AZURITE_PID="" \
    LIFEBOAT_SERVERS_WATCHER_PID="" LIFEBOAT_SERVERS_EPHEMERAL=0
  # shellcheck disable=SC1090
  source "$env"
  local pids=()
  for pid in "$LIFEBOAT_SERVERS_WATCHER_PID" "$LIFEBOAT_MOTO_PID" "$LIFEBOAT_S3S_PID" "$LIFEBOAT_AZURITE_PID"; do
    [[ -n "$pid" ]] && pids+=("$pid")
  done
  stop_pids "${pids[@]}"
  rm -f "$env"
  if [[ "$LIFEBOAT_SERVERS_EPHEMERAL" == 1 ]]; then rm -rf "$run_dir"; fi
  log "stopped the servers of $run_dir"
}

case "${1:-}" in
  install)
    shift
    if (($#)); then
      for what in "$@"; do
        case "$what" in
          moto | s3s | azurite) ;;
          *) die "install: unknown server $what (moto, s3s, azurite)" ;;
        esac
      done
      if [[ "${LIFEBOAT_NO_INSTALL:-}" == 1 ]]; then refuse_to_install "$@"; exit 0; fi
      mkdir -p "$base"
      for what in "$@"; do "install_$what"; done
    else
      install_all
    fi
    ;;
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  *)
    sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
