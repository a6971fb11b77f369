#!/usr/bin/env bash
# Command-line tools lifeboat's tests drive besides the lifeboat binary itself, installed from
# Debian's packages when missing, without the packages Debian merely recommends (idempotent;
# nothing is assumed to be installed already). Before installing, it prints every package apt
# will install or upgrade:
#
#   minisign   the reference minisign CLI: the evidence tests check that signatures lifeboat
#              writes verify with it, and that keys it makes sign for lifeboat.
#   chromium   a real browser: the report tests render report.html and the period report in
#              headless Chromium and check the page's text (tests/browser.rs).
#   /usr/bin/time
#              GNU time (not the shell keyword): the hostile-input tests measure a child's peak
#              memory with `time -v` (tests/hostile/evidence_dir.rs).
#   postgresql
#              Debian's PostgreSQL server and client (initdb, pg_ctl, pg_basebackup,
#              pg_verifybackup, psql in /usr/lib/postgresql/N/bin): the base-backup tests
#              start a throwaway cluster on 127.0.0.1, back it up with pg_basebackup and check
#              that lifeboat agrees with pg_verifybackup (tests/pg.rs, examples/postgres-*);
#              the history store's tests run on a throwaway cluster too (the scheduler's
#              store tests, tests/fleet_store.rs).
#   restic     the reference restic CLI (0.14): the testkit makes the restic repositories that
#              `source.format: restic` is tested on with it (lifeboat-testkit's `restic` module).
#   sqlite3, tar, zstd, sha256sum
#              examples/make-app-backup.sh builds the example SQLite and tar backups with them,
#              and the example drills' steps check the restored files with sqlite3 and tar
#              (tests/examples.rs).
#
# and one that no Debian package carries, built from crates.io at a pinned version into
# .tools/ at the top of the repo (git-ignored; override with LIFEBOAT_TOOLS_DIR), once per
# clone, never assumed to be installed:
#
#   cargo-machete
#              finds dependencies a Cargo.toml declares but no source uses (.ci/run fails on
#              one). Building it takes about 2 minutes of CPU and 170 MB of build folder,
#              which is removed; the binary is 7 MB. Run it as .tools/bin/cargo-machete.
#
#   scripts/tools.sh install [minisign|chromium|postgresql|restic|sqlite3|tar|zstd|sha256sum|/usr/bin/time|cargo-machete]...
#                                                   install whatever is missing (default: every
#                                                   Debian tool the tests need, not the cargo ones)
#
# With LIFEBOAT_NO_INSTALL=1 nothing is installed: a missing tool fails, naming the command
# that would install it.
#
# Needs root or sudo for apt-get (and runs `apt-get update` first only when the package index
# does not list a package); without either, prints what to run as root and fails.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools_dir="${LIFEBOAT_TOOLS_DIR:-$repo/.tools}"

die() { echo "tools.sh: $*" >&2; exit 1; }
log() { echo "tools.sh: $*" >&2; }

# tool name -> Debian package
declare -A PACKAGE=([minisign]=minisign [chromium]=chromium [sqlite3]=sqlite3 [tar]=tar \
  [zstd]=zstd [sha256sum]=coreutils [/usr/bin/time]=time [postgresql]=postgresql [restic]=restic)

# cargo tool -> pinned version
declare -A CARGO_TOOL=([cargo-machete]=0.9.2)

apt_install() {
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null ||
      die "installing $* needs root: run 'apt-get install -y --no-install-recommends $*' as root"
    sudo=(sudo -n)
  fi
  # `update` only when the package is unknown to the local index (a fresh machine).
  if ! apt-cache show "$@" >/dev/null 2>&1; then
    log "apt-get update (the package index does not list $*)"
    "${sudo[@]}" apt-get update -qq >&2
  fi
  # Only what the tools need to run: Debian's recommends for chromium alone add about 90
  # packages (udev, avahi, printing, perl modules) and, on a machine a point release behind,
  # upgrade systemd with them. Headless Chromium needs none of them (the tests pass
  # --no-sandbox; fonts come with its dependencies). And say what apt will add or upgrade
  # before it does: a simulation needs no root.
  local plan
  plan=$(apt-get -s install --no-install-recommends "$@" 2>&1) ||
    { echo "$plan" >&2; die "apt-get cannot install $*"; }
  log "apt-get install --no-install-recommends $* will make these changes:"
  echo "$plan" | sed -n \
    -e 's/^Inst \([^ ]*\) \[\([^]]*\)\] (\([^ ]*\).*/  upgrade \1 \2 -> \3/p' \
    -e 's/^Inst \([^ ]*\) (\([^ ]*\).*/  install \1 \2/p' >&2
  echo "$plan" | sed -n 's/^\([0-9]* upgraded\)/  \1/p' >&2
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$@" >&2
}

cargo_install() {
  local name=$1 version=${CARGO_TOOL[$1]}
  local marker="$tools_dir/.installed-$name-$version"
  [[ -f "$marker" && -x "$tools_dir/bin/$name" ]] && return 0
  [[ "${LIFEBOAT_NO_INSTALL:-}" != 1 ]] ||
    die "$name $version is not in $tools_dir, and LIFEBOAT_NO_INSTALL is set; run 'bash scripts/tools.sh install $name' without it"
  command -v cargo >/dev/null || die "cargo is required to build $name: https://rustup.rs"
  mkdir -p "$tools_dir"
  log "building $name $version into $tools_dir (about 2 minutes of CPU, once per clone)"
  local build
  build=$(mktemp -d)
  # Its own target folder, removed after: not the workspace's, which it would only bloat.
  if ! env -u CARGO_TARGET_DIR -u CARGO_BUILD_TARGET_DIR cargo install "$name@$version" \
    --locked --root "$tools_dir" --target-dir "$build" >"$tools_dir/install-$name.log" 2>&1; then
    rm -rf "$build"
    tail -n 30 "$tools_dir/install-$name.log" >&2
    die "cargo install $name failed (log: $tools_dir/install-$name.log)"
  fi
  rm -rf "$build"
  touch "$marker"
}

# Whether tool $1 is there: a command, except the PostgreSQL server, whose binaries live in
# /usr/lib/postgresql/N/bin, off PATH (the client package alone puts wrappers on PATH).
have() {
  case "$1" in
    postgresql) compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null ;;
    *) command -v "$1" >/dev/null ;;
  esac
}

install() {
  local tools=() missing=() t
  for t in "$@"; do
    if [ -n "${CARGO_TOOL[$t]:-}" ]; then cargo_install "$t"; else tools+=("$t"); fi
  done
  [ $# -gt 0 ] && [ ${#tools[@]} -eq 0 ] && return 0
  [ ${#tools[@]} -gt 0 ] || tools=("${!PACKAGE[@]}")
  for t in "${tools[@]}"; do
    [ -n "${PACKAGE[$t]:-}" ] || die "unknown tool: $t (known: ${!PACKAGE[*]} ${!CARGO_TOOL[*]})"
    have "$t" || missing+=("${PACKAGE[$t]}")
  done
  if [[ ${#missing[@]} -gt 0 && "${LIFEBOAT_NO_INSTALL:-}" == 1 ]]; then
    die "missing: ${missing[*]}, and LIFEBOAT_NO_INSTALL is set; install them with 'apt-get install -y --no-install-recommends ${missing[*]}' as root"
  fi
  [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
  for t in "${tools[@]}"; do
    have "$t" || die "$t is still missing after installing ${PACKAGE[$t]}"
  done
}

case "${1:-}" in
  install) shift; install "$@" ;;
  *) die "usage: scripts/tools.sh install [minisign|chromium|postgresql|restic|sqlite3|tar|zstd|sha256sum|/usr/bin/time|cargo-machete]..." ;;
esac
