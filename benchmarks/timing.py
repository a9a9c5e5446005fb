"""The one timing rule every benchmark here uses: the best of a few runs (noise only adds)."""

from __future__ import annotations

import time


def best_of(fn, repeat: int, clock=time.perf_counter) -> float:
    """The shortest of `repeat` calls of fn, on clock (time.thread_time: the calling thread's
    CPU seconds, which other processes' load does not inflate)."""
    times = []
    for _ in range(repeat):
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return min(times)
