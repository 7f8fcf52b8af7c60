"""Benchmarks of the course's library, printed as times and rates.

    python -m cmkt_lib.bench            # world generation, 20,000 objects

Speed is measured here, not in tests: tests stay fast and honest, this reports numbers."""

import argparse
import os
import platform
import time

from .world import make_world


def time_world_generation(n: int = 20_000, seed: int = 0, repeats: int = 3) -> dict:
    """Best-of-`repeats` wall time of make_world(n, seed)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        make_world(n, seed)
        times.append(time.perf_counter() - start)
    best = min(times)
    return {"n": n, "seconds": best, "objects_per_second": n / best}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="objects to generate")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}")
    r = time_world_generation(args.n, repeats=args.repeats)
    print(f"world generation: {r['n']:,} objects in {r['seconds']:.2f} s "
          f"({r['objects_per_second']:,.0f} objects/s, best of {args.repeats})")


if __name__ == "__main__":
    main()
