#!/usr/bin/env python3
"""Writes the data sets benches/compare.sh measures, in two shapes.

- `plain` (the default): about 2.1 GB in about 3,000 files, 1 KiB to 200 MiB (a few large
  files hold most bytes, as in real backups, and thousands of small ones the rest).
- `large` (issue 18's shape): about 3 GB in 400 larger files, 1 KiB to 96 MiB, most bytes in
  files of 8 MiB and more, where the per-byte cost of restoring dominates the per-file cost.

In both, half the files are random (incompressible), half pseudo-text (zstd -3 shrinks it
~3x). Deterministic: the same seed gives the same bytes on every machine.

  gen_dataset.py DIR          writes DIR/plain/<point>/... (the files, no .zst)
  gen_dataset.py DIR large    writes DIR/large/<point>/...

compare.sh adds the manifests, the .zst point and the restic repo itself.
"""
import os
import random
import sys

KIB, MIB = 1 << 10, 1 << 20
POINT = "2026-11-21T020000Z"


def sizes(rng):
    out = [200 * MIB, 200 * MIB]
    out += [rng.randint(64 * MIB, 128 * MIB) for _ in range(6)]
    out += [rng.randint(8 * MIB, 24 * MIB) for _ in range(40)]
    out += [rng.randint(256 * KIB, 2 * MIB) for _ in range(300)]
    out += [rng.randint(1 * KIB, 64 * KIB) for _ in range(2650)]
    return out


def sizes_large(rng):
    out = [rng.randint(56 * MIB, 96 * MIB) for _ in range(20)]
    out += [rng.randint(8 * MIB, 28 * MIB) for _ in range(60)]
    out += [rng.randint(256 * KIB, 4 * MIB) for _ in range(120)]
    out += [rng.randint(1 * KIB, 256 * KIB) for _ in range(200)]
    return out


def text_pool(rng, n):
    words = [
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 10)))
        for _ in range(4000)
    ]
    parts, size = [], 0
    while size < n:
        line = " ".join(rng.choice(words) for _ in range(rng.randint(4, 14))) + "\n"
        parts.append(line)
        size += len(line)
    return "".join(parts).encode()[:n]


def main():
    root = sys.argv[1]
    shape = sys.argv[2] if len(sys.argv) > 2 else "plain"
    if shape not in ("plain", "large"):
        sys.exit(f"unknown shape {shape!r}: plain or large")
    rng = random.Random(20261121 if shape == "plain" else 20261201)
    pool = text_pool(rng, 8 * MIB)
    point = os.path.join(root, shape, POINT)
    folders = 37 if shape == "plain" else 11
    for i, size in enumerate((sizes if shape == "plain" else sizes_large)(rng)):
        d = os.path.join(point, f"d{i % folders:02d}", f"e{i % 5}")
        os.makedirs(d, exist_ok=True)
        random_content = i % 2 == 0
        path = os.path.join(d, f"f{i:05d}.{'bin' if random_content else 'txt'}")
        with open(path, "wb") as f:
            left = size
            while left:
                n = min(left, 4 * MIB)
                if random_content:
                    f.write(rng.randbytes(n))
                else:
                    # Slices of a pseudo-text pool at random offsets, with a random byte every
                    # 4 KiB: compressible like logs, never one long repeat.
                    buf = bytearray()
                    while len(buf) < n:
                        off = rng.randrange(0, len(pool) - 4096)
                        buf += pool[off : off + 4095] + rng.randbytes(1)
                    f.write(bytes(buf[:n]))
                left -= n


if __name__ == "__main__":
    main()
