#!/usr/bin/env bash
# Writes the example application backup set that examples/app-backup.yaml and
# examples/failover.yaml drill: three nightly recovery points, each holding
#
#   db/app.db.zst         a real SQLite database (orders of the night), zstd-compressed
#   files/uploads.tar.zst a real tar archive of uploaded files, zstd-compressed
#   SHA256SUMS            sha256sum lines of the *uncompressed* db/app.db and files/uploads.tar
#
# lifeboat restores PATH from PATH.zst, decompressing it, and hashes the restored bytes, so the
# drill's steps can open the database with sqlite3 and list the archive with tar.
#
#   examples/make-app-backup.sh [OUT]    default OUT: /tmp/lifeboat-example/app-backup
#
# Needs sqlite3, tar, zstd and sha256sum (scripts/tools.sh install sqlite3 tar zstd sha256sum).
# It replaces a set it wrote before (marked by .lifeboat-example) and refuses any other folder.
set -euo pipefail

out="${1:-/tmp/lifeboat-example/app-backup}"
for tool in sqlite3 tar zstd sha256sum; do
  command -v "$tool" >/dev/null || {
    echo "make-app-backup.sh: $tool is missing: run scripts/tools.sh install $tool" >&2
    exit 1
  }
done
if [ -e "$out" ]; then
  [ -f "$out/.lifeboat-example" ] || {
    echo "make-app-backup.sh: $out exists and was not written by this script; not touching it" >&2
    exit 1
  }
  rm -rf "$out"
fi
mkdir -p "$out"
touch "$out/.lifeboat-example"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

nights=(2026-11-19 2026-11-20 2026-11-21)
for n in "${!nights[@]}"; do
  night="${nights[$n]}"
  point="$out/${night}T020000Z"
  mkdir -p "$point/db" "$point/files" "$work/$night/uploads"

  # The database: a schema and (n+1)*50 orders, as a nightly dump would hold them.
  sqlite3 "$work/$night/app.db" <<SQL
CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer INTEGER REFERENCES customers(id),
                     cents INTEGER NOT NULL, placed TEXT NOT NULL);
CREATE INDEX orders_by_customer ON orders(customer);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 20)
  INSERT INTO customers SELECT i, 'customer ' || i FROM c;
WITH RECURSIVE o(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM o WHERE i < $(( (n + 1) * 50 )))
  INSERT INTO orders SELECT i, 1 + i % 20, 100 * i + 99, '${night}T01:00:00Z' FROM o;
SQL

  # The uploads: a few files, archived reproducibly (sorted, fixed times and owners).
  for i in 1 2 3; do
    printf 'invoice %04d of %s\n' "$i" "$night" > "$work/$night/uploads/invoice-000$i.txt"
  done
  printf 'night %s\n' "$night" > "$work/$night/uploads/README"
  tar -C "$work/$night" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
    -cf "$work/$night/uploads.tar" uploads

  zstd -q -19 "$work/$night/app.db" -o "$point/db/app.db.zst"
  zstd -q -19 "$work/$night/uploads.tar" -o "$point/files/uploads.tar.zst"
  (
    cd "$work/$night"
    printf '%s  db/app.db\n' "$(sha256sum app.db | cut -d' ' -f1)"
    printf '%s  files/uploads.tar\n' "$(sha256sum uploads.tar | cut -d' ' -f1)"
  ) > "$point/SHA256SUMS"
done
echo "wrote ${#nights[@]} recovery points to $out" >&2
