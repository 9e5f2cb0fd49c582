"""Helpers shared by the benchmarks: timing and JSON-line output."""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable


def row(
    name: str,
    value: float,
    unit: str,
    *,
    baseline: float | None = None,
    **extra: object,
) -> dict:
    """One result row; ``ratio`` is value ÷ baseline when there is a baseline."""
    out: dict = {"name": name, "value": round(value, 6), "unit": unit}
    if baseline is not None:
        out["baseline"] = round(baseline, 6)
        out["ratio"] = round(value / baseline, 3) if baseline else None
    out.update(extra)
    return out


def emit(result: dict) -> None:
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


def median_seconds(fn: Callable[[], object], *, repeat: int = 7, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` over ``repeat`` runs, after ``warmup`` untimed runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
