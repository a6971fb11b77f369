#!/usr/bin/env bash
# One command from a fresh clone: build lifeboat, generate the example backup set and run the
# example drill (examples/local.yaml) against it. Exits with the drill's exit code and prints
# where the evidence is.
#
# The backup goes to /tmp/lifeboat-example/backup because examples/local.yaml names that path
# (a file:// URL must be absolute); the evidence goes to ./evidence at the top of the repo.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
backup=/tmp/lifeboat-example/backup     # must match source.url in examples/local.yaml
now=2026-11-22T02:00:00Z                # T0: the newest example point is then exactly 24 h old
cd "$repo"

cargo build --release --bin lifeboat --bin lifeboat-mkbackup
bin="${CARGO_TARGET_DIR:-$repo/target}/release"

"$bin/lifeboat-mkbackup" --out "$backup"
echo

out="$(mktemp)"
trap 'rm -f "$out"' EXIT
set +e
"$bin/lifeboat" drill examples/local.yaml --now "$now" --evidence-dir "$repo/evidence" | tee "$out"
code=${PIPESTATUS[0]}
set -e

echo
case "$code" in
  0) echo "drill passed (exit 0)" ;;
  1) echo "drill FAILED (exit 1)" ;;
  *) echo "drill could not run (exit $code)" ;;
esac
evidence="$(tail -n 1 "$out")"
if [[ -f "$evidence" ]]; then
  echo "evidence: $evidence"
  echo "report:   $(dirname "$evidence")/report.html (and report.md)"
fi
exit "$code"
