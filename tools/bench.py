"""Benchmarks the library's speed promises (not a test: timings depend on the machine).

    python tools/bench.py

- ``python -m vramlib MODEL`` cold: a fresh interpreter each run, the best of several;
- an estimate of the catalogue's largest model (by parameters), repeated, per call.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cold_cli(model: str = "meta-llama/Llama-3.1-8B", runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "vramlib", model],
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        times.append(time.perf_counter() - start)
    return min(times)


def largest_estimate(runs: int = 50) -> tuple[str, float]:
    sys.path.insert(0, str(ROOT))
    import vramlib

    name = max(vramlib.model_names(), key=lambda n: vramlib.get_model(n).param_count())
    vramlib.estimate(name)  # warm the data caches once
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        vramlib.estimate(name, context=131_072)
        times.append(time.perf_counter() - start)
    return name, statistics.median(times)


if __name__ == "__main__":
    print(f"python -m vramlib, cold (best of 7): {cold_cli() * 1000:.0f} ms")
    name, t = largest_estimate()
    print(f"estimate of the largest model ({name}), median: {t * 1000:.2f} ms")
