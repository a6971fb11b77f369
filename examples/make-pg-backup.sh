#!/usr/bin/env bash
# Writes the example PostgreSQL base backup that examples/postgres-basebackup.yaml drills: a
# throwaway cluster is started on 127.0.0.1 at a free port, given a table of 1,000 orders,
# backed up with `pg_basebackup -Fp` (plain format, WAL streamed in, a backup_manifest with
# pg_basebackup's default CRC32C checksums) into OUT/2026-11-21T020000Z, and stopped.
#
#   examples/make-pg-backup.sh [OUT]    default OUT: /tmp/lifeboat-example/pg-backup
#
# Needs Debian's postgresql (scripts/tools.sh install postgresql). PostgreSQL refuses to run as
# root: as root, initdb and pg_ctl run as the postgres user (runuser), in a folder it owns
# below /tmp. The cluster is stopped and removed however the script ends. It replaces a set it
# wrote before (marked by .lifeboat-example) and refuses any other folder.
set -euo pipefail

out="${1:-/tmp/lifeboat-example/pg-backup}"
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
[ -x "$bin/initdb" ] || {
  echo "make-pg-backup.sh: no PostgreSQL server in /usr/lib/postgresql: run scripts/tools.sh install postgresql" >&2
  exit 1
}
if [ -e "$out" ]; then
  [ -f "$out/.lifeboat-example" ] || {
    echo "make-pg-backup.sh: $out exists and was not written by this script; not touching it" >&2
    exit 1
  }
  rm -rf "$out"
fi
mkdir -p "$out"
touch "$out/.lifeboat-example"

as_server() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
work="$(mktemp -d /tmp/lifeboat-pg.XXXXXX)"
[ "$(id -u)" = 0 ] && chown postgres: "$work"
stop() {
  [ -f "$work/data/postmaster.pid" ] && as_server "$bin/pg_ctl" -D "$work/data" -m fast -w stop >/dev/null
  rm -rf "$work"
}
trap stop EXIT

# A port below Linux's ephemeral range (32768-60999 by default): a port in it can be taken,
# between the probe and the server's bind, by the local end of any outgoing connection, and
# the test suite makes thousands on loopback. Should the bind still fail, another port is tried;
# any other failure shows the server's log.
as_server "$bin/initdb" -D "$work/data" -A trust -U postgres --no-sync >/dev/null
port=
for _ in $(seq 5); do
  p=
  for _ in $(seq 50); do
    c=$((20000 + RANDOM % 12000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$c") 2>/dev/null; then p=$c; break; fi
  done
  [ -n "$p" ] || break
  if as_server "$bin/pg_ctl" -D "$work/data" -l "$work/log" -w \
    -o "-p $p -c listen_addresses=127.0.0.1 -c unix_socket_directories=''" start >/dev/null; then
    port=$p
    break
  fi
  grep -q "could not bind\|already in use" "$work/log" 2>/dev/null || break
done
[ -n "$port" ] || {
  echo "make-pg-backup.sh: PostgreSQL did not start; the end of its log:" >&2
  tail -n 20 "$work/log" >&2 2>/dev/null || true
  exit 1
}
psql() { "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -Atq "$@"; }
psql -c "CREATE TABLE orders (id int PRIMARY KEY, amount_cents bigint NOT NULL);
         INSERT INTO orders SELECT g, g * 100 FROM generate_series(1, 1000) g;"
"$bin/pg_basebackup" -h 127.0.0.1 -p "$port" -U postgres -Fp -D "$out/2026-11-21T020000Z"
echo "make-pg-backup.sh: base backup of 1000 orders in $out/2026-11-21T020000Z" >&2
