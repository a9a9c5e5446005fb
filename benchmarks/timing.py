"""The one timing rule every benchmark here uses: the best of a few runs (noise only adds)."""

from __future__ import annotations

import time


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)
