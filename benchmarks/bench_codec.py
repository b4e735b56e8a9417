"""Benchmark flowstone.codec against plain msgpack on a ~1 MiB nested value of plain types.

The codec's target is at least half of plain ``msgpack.packb``/``unpackb`` throughput for
plain data, since plain data is what most assets return. Both are timed in the same run on
the same value, so the ratio holds on any machine even though the MB/s do not.

Usage::

    .venv/bin/python benchmarks/bench_codec.py [--quick]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from flowstone.codec import decode, encode

TARGET_BYTES = 1024 * 1024
TARGET_RATIO = 0.5


def build_value(target_bytes: int = TARGET_BYTES) -> list[dict[str, Any]]:
    """Build records like a typical asset's output until they pack to ``target_bytes``."""
    rng = random.Random(20250101)  # fixed seed: the same value every run
    records: list[dict[str, Any]] = []
    while len(msgpack.packb(records)) < target_bytes:
        i = len(records)
        records.extend(
            {
                "id": i + k,
                "name": f"customer-{i + k:06d}",
                "score": rng.random() * 100,
                "active": (i + k) % 3 == 0,
                "tags": [f"tag{j}" for j in range(rng.randrange(5))],
                "address": {"city": "Berlin", "zip": 10000 + i + k, "geo": [52.52, 13.405]},
                "orders": [{"n": n, "amount": rng.randrange(10_000) / 100} for n in range(3)],
            }
            for k in range(100)
        )
    return records


def median_seconds(func: Callable[[], object], *, repeat: int, min_time: float) -> float:
    """Median seconds per call over ``repeat`` runs, each long enough to time reliably."""
    number, _ = timeit.Timer(func).autorange()
    number = max(1, int(number * min_time / 0.2))  # autorange aims for >= 0.2 s a run
    runs = timeit.repeat(func, number=number, repeat=repeat)
    return statistics.median(runs) / number


def main(argv: list[str] | None = None) -> int:
    """Print median MB/s of codec and plain msgpack, and the codec/plain ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs (still 7 repeats)")
    args = parser.parse_args(argv)
    repeat, min_time = (7, 0.05) if args.quick else (9, 0.3)

    value = build_value()
    plain_bytes = msgpack.packb(value)
    codec_bytes = encode(value)
    if decode(codec_bytes) != value or msgpack.unpackb(plain_bytes) != value:
        raise SystemExit("round trip failed: the benchmark would measure the wrong thing")
    size_mb = len(plain_bytes) / 1e6

    timings = {
        "encode": (
            median_seconds(lambda: encode(value), repeat=repeat, min_time=min_time),
            median_seconds(lambda: msgpack.packb(value), repeat=repeat, min_time=min_time),
        ),
        "decode": (
            median_seconds(lambda: decode(codec_bytes), repeat=repeat, min_time=min_time),
            median_seconds(lambda: msgpack.unpackb(plain_bytes), repeat=repeat, min_time=min_time),
        ),
    }

    print(f"value: {len(value)} records, {len(plain_bytes):,} bytes packed (codec +1 byte)")
    print(f"python {sys.version.split()[0]}, msgpack {'.'.join(map(str, msgpack.version))}")
    print(f"median of {repeat} repeats")
    print(f"{'':8}{'codec MB/s':>12}{'msgpack MB/s':>14}{'ratio':>8}")
    failed = False
    for name, (codec_s, plain_s) in timings.items():
        ratio = plain_s / codec_s  # codec throughput / plain throughput
        failed |= ratio < TARGET_RATIO
        print(f"{name:8}{size_mb / codec_s:12.1f}{size_mb / plain_s:14.1f}{ratio:8.2f}")
    print(f"target ratio >= {TARGET_RATIO}: {'MISSED' if failed else 'met'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
