#!/usr/bin/env bash
# Runs lifeboat's whole test suite: unit tests, the integration tests that drive the real
# binary, and doc tests. This is the README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo >/dev/null || { echo "cargo is required: https://rustup.rs" >&2; exit 1; }

cargo test --workspace --locked "$@"
