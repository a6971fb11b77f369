#!/usr/bin/env python3
"""Writes the data set benches/compare.sh measures: about 2 GB in about 3,000 files.

Sizes run from 1 KiB to 200 MiB (a few large files hold most bytes, as in real backups);
half the files are random (incompressible), half pseudo-text (zstd -3 shrinks it ~3x).
Deterministic: the same seed gives the same bytes on every machine.

  gen_dataset.py DIR        writes DIR/plain/<point>/... (the files, no .zst)

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
    rng = random.Random(20261121)
    pool = text_pool(rng, 8 * MIB)
    point = os.path.join(root, "plain", POINT)
    for i, size in enumerate(sizes(rng)):
        d = os.path.join(point, f"d{i % 37:02d}", f"e{i % 5}")
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
