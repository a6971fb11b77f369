#!/usr/bin/env bash
# Command-line tools lifeboat's tests drive besides the lifeboat binary itself, installed from
# Debian's packages when missing (idempotent; nothing is assumed to be installed already):
#
#   minisign   the reference minisign CLI: the evidence tests check that signatures lifeboat
#              writes verify with it, and that keys it makes sign for lifeboat.
#   chromium   a real browser: the report tests render report.html and the period report in
#              headless Chromium and check the page's text (tests/browser.rs).
#   /usr/bin/time
#              GNU time (not the shell keyword): the hostile-input tests measure a child's peak
#              memory with `time -v` (tests/hostile/evidence_dir.rs).
#   sqlite3, tar, zstd, sha256sum
#              examples/make-app-backup.sh builds the example SQLite and tar backups with them,
#              and the example drills' steps check the restored files with sqlite3 and tar
#              (tests/examples.rs).
#
#   scripts/tools.sh install [minisign|chromium|sqlite3|tar|zstd|sha256sum]...
#                                                   install whatever is missing (default: all)
#
# Needs root or sudo for apt-get; prints what it would run otherwise and fails.
set -euo pipefail

die() { echo "tools.sh: $*" >&2; exit 1; }
log() { echo "tools.sh: $*" >&2; }

# tool name -> Debian package
declare -A PACKAGE=([minisign]=minisign [chromium]=chromium [sqlite3]=sqlite3 [tar]=tar \
  [zstd]=zstd [sha256sum]=coreutils [/usr/bin/time]=time)

apt_install() {
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "installing $* needs root: run 'apt-get install -y $*' as root"
    sudo=(sudo -n)
  fi
  log "apt-get install -y $*"
  # `update` only when the package is unknown to the local index (a fresh machine).
  if ! apt-cache show "$@" >/dev/null 2>&1; then
    "${sudo[@]}" apt-get update -qq >&2
  fi
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "$@" >&2
}

install() {
  local tools=("$@") missing=()
  [ ${#tools[@]} -gt 0 ] || tools=("${!PACKAGE[@]}")
  for t in "${tools[@]}"; do
    [ -n "${PACKAGE[$t]:-}" ] || die "unknown tool: $t (known: ${!PACKAGE[*]})"
    command -v "$t" >/dev/null || missing+=("${PACKAGE[$t]}")
  done
  [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
  for t in "${tools[@]}"; do
    command -v "$t" >/dev/null || die "$t is still missing after installing ${PACKAGE[$t]}"
  done
}

case "${1:-}" in
  install) shift; install "$@" ;;
  *) die "usage: scripts/tools.sh install [minisign|chromium|sqlite3|tar|zstd|sha256sum|/usr/bin/time]..." ;;
esac
