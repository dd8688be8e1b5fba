"""Password hashing cost on this machine: hashlib.scrypt (the standard library) against
argon2id (argon2-cffi).

A sign-in checks one hash, so what matters is the CPU one check takes (the wait a person
feels, what a burst of sign-ins costs a 2-core desk) at a strength that makes guessing on
GPUs dear. Rows pair the two: at the same memory (32 MiB, 64 MiB), and at the weakest
settings OWASP's Password Storage Cheat Sheet accepts for each (scrypt N=2^17 r=8 p=1;
argon2id m=19 MiB t=2 p=1), which it treats as equally strong. Figures are the median wall
and CPU time of --rounds hashes.

The desk's choice is the row marked `(desk)`: `store/passwords.py` uses those parameters.

Run: .venv/bin/python bench/kdf.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from newsdesk.store import passwords


def measure(fn: Callable[[], object], rounds: int) -> tuple[float, float]:
    """(median wall ms, median CPU ms) of `rounds` calls."""
    walls, cpus = [], []
    for _ in range(rounds):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return statistics.median(walls), statistics.median(cpus)


def scrypt(n: int) -> Callable[[], object] | None:
    salt = os.urandom(16)
    return lambda: hashlib.scrypt(
        b"correct horse battery", salt=salt, n=n, r=8, p=1, maxmem=n * 8 * 128 * 2, dklen=32
    )


def argon2(memory_kib: int, time_cost: int, parallelism: int) -> Callable[[], object] | None:
    try:
        from argon2 import PasswordHasher
    except ImportError:
        return None
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
    return lambda: hasher.hash("correct horse battery")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rows: list[tuple[str, Callable[[], object] | None]] = [
        ("scrypt n=2^15 r=8 p=1 (32 MiB)", scrypt(2**15)),
        ("argon2id t=2 p=1 (32 MiB)", argon2(32 * 1024, 2, 1)),
        ("scrypt n=2^16 r=8 p=1 (64 MiB)", scrypt(2**16)),
        ("argon2id t=3 p=4 (64 MiB, argon2-cffi's default)", argon2(64 * 1024, 3, 4)),
        ("scrypt n=2^17 r=8 p=1 (OWASP minimum)", scrypt(2**17)),
        ("argon2id m=19 MiB t=2 p=1 (OWASP minimum) (desk)", argon2(19 * 1024, 2, 1)),
    ]
    print(f"password hashing on this machine: {args.rounds} hashes a row, cpus={os.cpu_count()}")
    print()
    print(
        "| KDF and parameters | wall ms (median) | CPU ms (median) | CPU vs the scrypt row above |"
    )
    print("|---|---|---|---|")
    base = 0.0
    for label, fn in rows:
        if fn is None:
            print(f"| {label} | not installed | | |")
            continue
        wall, cpu = measure(fn, args.rounds)
        if label.startswith("scrypt"):
            base, ratio = cpu, "1.00x"
        else:
            ratio = f"{cpu / base:.2f}x"
        print(f"| {label} | {wall:.1f} | {cpu:.1f} | {ratio} |")
    started = time.perf_counter()
    stored = passwords.hash_password("correct horse battery")
    passwords.verify_password("correct horse battery", stored)
    check = (time.perf_counter() - started) * 1000 / 2
    print()
    print(f"desk: store/passwords.py hash or verify: {check:.1f} ms each")


if __name__ == "__main__":
    main()
