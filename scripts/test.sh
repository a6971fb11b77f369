#!/usr/bin/env bash
# Runs lifeboat's whole test suite: unit tests, the integration tests that drive the real
# binary (including the storage conformance suite against local S3 and Azure servers), and doc
# tests. This is the README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo >/dev/null || { echo "cargo is required: https://rustup.rs" >&2; exit 1; }

# With LIFEBOAT_NO_INSTALL=1 nothing is installed: what is missing is named here, the suite
# runs anyway, and the tests that need it fail (they never skip), naming it again.
need() {
  if [[ "${LIFEBOAT_NO_INSTALL:-}" == 1 ]]; then
    "$@" || echo "test.sh: going on without it: the tests that need it will fail" >&2
  else
    "$@"
  fi
}

# The conformance suite starts moto, s3s-fs and Azurite itself (once per test process, stopped
# when it exits); installing them first keeps that out of the tests' time and shows its cost.
# A clone installs them once, under .servers/ (git-ignored).
need bash scripts/servers.sh install
# The minisign CLI (signature interop) and headless Chromium (the HTML reports are rendered in
# a real browser), from Debian's packages when missing; the tests fail, never skip, without them.
need bash scripts/tools.sh install

cargo test --workspace --locked "$@"

# The vendored scrypt's own tests (RFC 7914's vectors, p = 16 among them, through lifeboat's
# patched lane scheduling and huge-page vectors; vendor/README.md): a patched crate is
# lifeboat's code. vendor/ is not a workspace member, so it is asked for by package (the
# workspace turns its `parallel` feature on); a few seconds.
cargo test -p scrypt@0.12.0 --locked
