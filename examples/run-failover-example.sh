#!/usr/bin/env bash
# The manual failover drill (examples/failover.yaml) in one command: build lifeboat, write the
# example application backup, start a stand-in "standby" on 127.0.0.1 whose /health answers
# "ok" (python3's http.server over a folder holding that file), and run the drill with you as
# the operator. Answer each question on the terminal; exits with the drill's exit code.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
bash scripts/tools.sh install sqlite3 tar zstd sha256sum
command -v python3 >/dev/null || { echo "python3 is needed for the stand-in standby" >&2; exit 1; }

cargo build --release --bin lifeboat
bin="${CARGO_TARGET_DIR:-$repo/target}/release"
bash examples/make-app-backup.sh

standby="$(mktemp -d)"
echo ok > "$standby/health"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
python3 -m http.server --bind 127.0.0.1 --directory "$standby" "$port" >/dev/null 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; rm -rf "$standby"' EXIT

set +e
LIFEBOAT_EXAMPLE_STANDBY="127.0.0.1:$port" "$bin/lifeboat" drill examples/failover.yaml \
  --now 2026-11-22T02:00:00Z --evidence-dir "$repo/evidence" \
  --interactive --operator "${USER:-operator}"
code=$?
set -e
exit "$code"
