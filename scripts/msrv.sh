#!/usr/bin/env bash
# Checks that `rust-version` in Cargo.toml, the oldest Rust lifeboat says it builds with, is
# true. .ci/run runs it before building anything.
#
# lifeboat's machines and CI have one Rust toolchain and cannot fetch another, so this cannot
# build a second time with an older compiler. Instead it makes the one build CI does a build on
# the declared version, and checks what that build cannot see:
#
#   1. every workspace member declares the workspace's `rust-version`;
#   2. the toolchain that builds (`$RUSTC`, else `rustc`) is that version (same major.minor):
#      the clippy, doc and test runs after this one then prove that lifeboat builds and passes
#      on it. When the machines move to a newer Rust this fails, on purpose, until
#      `rust-version` is raised to what CI then proves (or the older toolchain is installed);
#   3. no package in Cargo.lock declares a `rust-version` newer than ours (from `cargo
#      metadata --locked`, every platform's dependencies included): such a dependency would
#      not build on our MSRV, whatever the machine.
#
# What it does not prove: that a dependency declaring no `rust-version` (counted below) builds
# on an older toolchain than CI's, beyond what the build shows on Linux x86_64; that
# dependencies used only on other platforms build at all; or that lifeboat builds with any
# toolchain older than the declared one (it says it does not).
#
#   scripts/msrv.sh
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo >/dev/null || { echo "msrv.sh: cargo is required: https://rustup.rs" >&2; exit 1; }
command -v python3 >/dev/null || { echo "msrv.sh: python3 is required" >&2; exit 1; }

rustc_version=$("${RUSTC:-rustc}" --version)
metadata=$(mktemp)
trap 'rm -f "$metadata"' EXIT
cargo metadata --format-version 1 --locked >"$metadata"

python3 - "$metadata" "$rustc_version" <<'EOF'
import json
import re
import sys

metadata = json.load(open(sys.argv[1]))
rustc = sys.argv[2]


def version(text):
    """`1.95` or `1.95.0` as a comparable (major, minor, patch)."""
    parts = [int(p) for p in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def show(v):
    return ".".join(str(p) for p in v)


members = set(metadata["workspace_members"])
packages = metadata["packages"]
ours = {p["name"]: p.get("rust_version") for p in packages if p["id"] in members}
problems = []

# 1. One rust-version, declared by every member.
declared = {v for v in ours.values() if v}
missing = sorted(name for name, v in ours.items() if not v)
if missing:
    problems.append("workspace members without rust-version: " + ", ".join(missing)
                    + " (add `rust-version.workspace = true`)")
if len(declared) != 1:
    problems.append(f"workspace members declare different rust-versions: {sorted(declared)}")
    msrv = max((version(v) for v in declared), default=(0, 0, 0))
else:
    msrv = version(declared.pop())

# 2. The toolchain that builds is the declared one.
m = re.match(r"rustc (\d+)\.(\d+)\.(\d+)", rustc)
if not m:
    problems.append(f"cannot read the toolchain's version from {rustc!r}")
else:
    toolchain = tuple(int(g) for g in m.groups())
    if toolchain[:2] != msrv[:2]:
        problems.append(
            f"the build uses Rust {show(toolchain)} but rust-version says {show(msrv)}: "
            "this build would not prove the declared MSRV. Raise rust-version in Cargo.toml "
            f"to {toolchain[0]}.{toolchain[1]} (what CI then proves), or build with "
            f"Rust {msrv[0]}.{msrv[1]}")

# 3. No locked dependency needs a newer Rust.
newer = sorted(
    (version(p["rust_version"]), p["name"], p["version"])
    for p in packages
    if p["id"] not in members and p.get("rust_version") and version(p["rust_version"]) > msrv)
for v, name, ver in newer:
    problems.append(f"{name} {ver} in Cargo.lock needs Rust {show(v)}, newer than "
                    f"rust-version {show(msrv)}: pin an older {name} "
                    f"(cargo update -p {name} --precise VERSION) or raise rust-version")

others = [p for p in packages if p["id"] not in members]
undeclared = sum(1 for p in others if not p.get("rust_version"))
newest = max((version(p["rust_version"]) for p in others if p.get("rust_version")),
             default=None)
if problems:
    for p in problems:
        print(f"msrv.sh: {p}", file=sys.stderr)
    sys.exit(1)
print(f"msrv: rust-version {show(msrv)}, built with {rustc.split(' (')[0]}; "
      f"{len(others)} locked packages, the newest rust-version among them "
      f"{show(newest) if newest else 'none'}; {undeclared} declare none")
EOF
