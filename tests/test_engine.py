"""palcli.engine: numpy or numba by cost, numba's state, the span thread pool."""

import sys

import numpy as np
import pytest

from palcli import engine


def test_engine_choice_by_cost(monkeypatch):
    monkeypatch.setattr(engine, "_numpy_pixels", 0)
    modules = {k: v for k, v in sys.modules.items()
               if k not in ("numba", "palcli.kernels.lookup")}
    monkeypatch.setattr(sys, "modules", modules)
    assert not engine.use_numba(1_000_000)  # one photo: numpy, no numba import
    assert engine.use_numba(500_000_000)  # one huge image pays for the import
    monkeypatch.setattr(engine, "_numpy_pixels", 200_000_000)
    assert engine.use_numba(1_000)  # many photos already mapped
    monkeypatch.setattr(engine, "_numpy_pixels", 0)
    modules["palcli.kernels.lookup"] = object()
    assert engine.use_numba(1_000)  # kernel already loaded: always


def test_expected_tasks_pay_for_numba_from_the_first(monkeypatch):
    monkeypatch.setattr(engine, "_numpy_pixels", 0)
    modules = {k: v for k, v in sys.modules.items()
               if k not in ("numba", "palcli.kernels.lookup")}
    monkeypatch.setattr(sys, "modules", modules)
    monkeypatch.setattr(engine, "_tasks_ahead", 0)
    engine.expect_tasks(3)
    assert not engine.use_numba(1_000_000)  # four photos: numpy all the way
    engine.expect_tasks(199)
    assert engine.use_numba(1_000_000)  # a share of 200 photos: numba from the first
    engine.expect_tasks(-5)
    assert engine._tasks_ahead == 0


def test_numba_runtime_started_is_detected():
    from palcli.cube import build_cube

    build_cube(np.array([[0, 0, 0], [9, 9, 9]], np.uint8), "rgb", engine="numba")  # a kernel
    state = engine.numba_state()
    assert state.imported and state.started
    assert engine.use_numba(1)


def test_spans_cover_every_pixel_once(monkeypatch):
    import numba

    monkeypatch.setattr(engine, "CHUNK_PIXELS", 10)
    monkeypatch.setattr(numba, "get_num_threads", lambda: 3)
    seen = np.zeros(1001, int)

    def kernel(arr, lo, hi):
        arr[lo:hi] += 1

    engine.spans(kernel, (seen,), 1001)
    assert (seen == 1).all()

    def failing(arr, lo, hi):
        if lo == 500:
            raise RuntimeError("chunk 50")

    with pytest.raises(RuntimeError, match="chunk 50"):
        engine.spans(failing, (seen,), 1001)
