#!/usr/bin/env bash
# One command from a fresh clone: start local S3 (s3s-fs) and Azure (Azurite) servers, upload
# the example backup set to both, run examples/s3.yaml and examples/azure.yaml against them,
# print the results and stop the servers. Exits 0 when both drills pass, else the first
# non-zero drill exit code.
#
# The first run installs the servers under .servers/ (git-ignored): moto and Azurite in
# seconds, s3s-fs in about 2.5 minutes (a cargo build, once per clone). Everything listens
# on 127.0.0.1 only. The backup goes to /tmp/lifeboat-example/backup, as for
# examples/run-example.sh; the evidence goes to ./evidence.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
backup=/tmp/lifeboat-example/backup
now=2026-11-22T02:00:00Z                # T0: the newest example point is then exactly 24 h old
bucket=lifeboat-example                 # must match source.url in examples/s3.yaml / azure.yaml
prefix=backup
cd "$repo"

cargo build --release --bin lifeboat --bin lifeboat-mkbackup --bin lifeboat-upload
bin="${CARGO_TARGET_DIR:-$repo/target}/release"

"$bin/lifeboat-mkbackup" --out "$backup"
echo

# Fresh servers for this run; the watcher stops them when this script exits, however it exits.
run_dir="$repo/.servers/example-run"
trap 'bash scripts/servers.sh stop --run-dir "$run_dir" >/dev/null 2>&1 || true' EXIT
bash scripts/servers.sh start --run-dir "$run_dir" --watch-pid $$ --ephemeral >/dev/null
env_file="$run_dir/env"

"$bin/lifeboat-upload" --servers-env "$env_file" --to s3s-fs --bucket "$bucket" --prefix "$prefix" "$backup"
"$bin/lifeboat-upload" --servers-env "$env_file" --to azurite --bucket "$bucket" --prefix "$prefix" "$backup"
echo

# The runbooks read endpoints and credentials from these (`${VAR}` in source.options).
# shellcheck disable=SC1090
source "$env_file"
export LIFEBOAT_EXAMPLE_S3_ENDPOINT="$LIFEBOAT_S3S_ENDPOINT"
export LIFEBOAT_EXAMPLE_S3_ACCESS_KEY_ID="$LIFEBOAT_S3S_ACCESS_KEY_ID"
export LIFEBOAT_EXAMPLE_S3_SECRET_ACCESS_KEY="$LIFEBOAT_S3S_SECRET_ACCESS_KEY"
export LIFEBOAT_EXAMPLE_AZURE_ENDPOINT="$LIFEBOAT_AZURITE_ENDPOINT/$LIFEBOAT_AZURITE_ACCOUNT"
export LIFEBOAT_EXAMPLE_AZURE_ACCOUNT="$LIFEBOAT_AZURITE_ACCOUNT"
export LIFEBOAT_EXAMPLE_AZURE_ACCESS_KEY="$LIFEBOAT_AZURITE_KEY"

status=0
summary=()
for runbook in examples/s3.yaml examples/azure.yaml; do
  echo "== lifeboat drill $runbook"
  out="$(mktemp)"
  set +e
  "$bin/lifeboat" drill "$runbook" --now "$now" --evidence-dir "$repo/evidence" | tee "$out"
  code=${PIPESTATUS[0]}
  set -e
  evidence="$(tail -n 1 "$out")"
  rm -f "$out"
  case "$code" in
    0) verdict="passed (exit 0)" ;;
    1) verdict="FAILED (exit 1)" ;;
    *) verdict="could not run (exit $code)" ;;
  esac
  summary+=("$runbook: $verdict")
  [[ -f "$evidence" ]] && summary+=("  evidence: $evidence" "  report:   $(dirname "$evidence")/report.html (and report.md)")
  if ((status == 0 && code != 0)); then status=$code; fi
  echo
done

printf '%s\n' "${summary[@]}"
exit "$status"
