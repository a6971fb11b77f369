#!/usr/bin/env bash
# Writes the example restic repository that examples/restic.yaml drills, with the real restic
# CLI: an application folder (a config, a data file of 2 MiB, and the SHA256SUMS the backup job
# writes beside them) backed up twice as host app01 with tag nightly, on two fixed nights, into
# OUT/repo; the password is in OUT/password (an example's password, not a secret).
#
#   examples/make-restic-repo.sh [OUT]    default OUT: /tmp/lifeboat-example/restic
#
# Needs Debian's restic (scripts/tools.sh install restic). It replaces a repository it wrote
# before (marked by .lifeboat-example) and refuses any other folder. The password reaches restic
# through RESTIC_PASSWORD_FILE, never its command line.
set -euo pipefail

out="${1:-/tmp/lifeboat-example/restic}"
command -v restic >/dev/null || {
  echo "make-restic-repo.sh: no restic: run scripts/tools.sh install restic" >&2
  exit 1
}
if [ -e "$out" ]; then
  [ -f "$out/.lifeboat-example" ] || {
    echo "make-restic-repo.sh: $out exists and was not written by this script; not touching it" >&2
    exit 1
  }
  rm -rf "$out"
fi
mkdir -p "$out/work"
touch "$out/.lifeboat-example"
printf 'lifeboat-example-restic-password\n' > "$out/password"
chmod 600 "$out/password"

export RESTIC_PASSWORD_FILE="$out/password" RESTIC_REPOSITORY="$out/repo" TZ=UTC
unset RESTIC_PASSWORD
restic --no-cache --quiet init

# One night's backup: the job writes its files, then their SHA256SUMS, then restic backs up.
night() {
  local time="$1" day="$2"
  rm -rf "$out/work/srv"
  mkdir -p "$out/work/srv/app"
  printf 'listen = 127.0.0.1:8080\nday = %s\n' "$day" > "$out/work/srv/app/app.conf"
  head -c $((2 << 20)) /dev/zero | tr '\0' 'x' > "$out/work/srv/app/data.bin"
  printf '%s\n' "$day" >> "$out/work/srv/app/data.bin"
  (cd "$out/work/srv/app" && sha256sum app.conf data.bin > SHA256SUMS)
  (cd "$out/work" && restic --no-cache --quiet backup --time "$time" --host app01 --tag nightly srv)
}
night "2026-11-20 02:00:00" 20
night "2026-11-21 02:00:00" 21
rm -rf "$out/work"
echo "make-restic-repo.sh: two snapshots of host app01 in $out/repo (password in $out/password)" >&2
