"""The executors in-process: one record per task, worker deaths contained, --fail-fast."""

import os
import time

import numpy as np
import pytest
from PIL import Image

from palcli import executors
from palcli.batch import make_settings
from palcli.dither import DitherParams
from palcli.palette import Palette
from palcli.plan import Task
from palcli.report import Result

SETTINGS = make_settings(Palette("corners", np.array([[0, 0, 0], [255, 255, 255]], np.uint8)),
                         "rgb", DitherParams())


@pytest.fixture
def tasks(tmp_path):
    out = []
    for i in range(12):
        src = tmp_path / f"in{i}.png"
        Image.new("RGB", (3, 2), (i * 20, i * 20, i * 20)).save(src)
        out.append(Task(str(src), str(tmp_path / "out" / f"o{i}.png")))
    return out


@pytest.fixture
def fake(monkeypatch):
    """Workers run fake_convert: patched here, inherited by forked workers (forced: spawned
    ones would import the real one; fake_convert uses no OpenMP, so forking is safe)."""
    import multiprocessing

    monkeypatch.setattr(executors, "convert_one", fake_convert)
    monkeypatch.setattr(executors.engine, "process_context",
                        lambda: multiprocessing.get_context("fork"))


def fake_convert(task, settings):
    """Stands in for convert_one in forked workers: dies on in3, fails on in5."""
    name = os.path.basename(task.input)
    if name == "in3.png":
        os._exit(3)
    if name != "in5.png":
        time.sleep(0.05)
    status = "error" if name == "in5.png" else "ok"
    return Result(task.input, task.output, status, "bad" if status == "error" else None)


@pytest.mark.parametrize("jobs", [1, 2, 3])
def test_every_task_gets_one_record_and_identical_files(tasks, jobs):
    results = list(executors.run_local(tasks, SETTINGS, jobs=jobs))
    assert sorted(r.input for r in results) == sorted(t.input for t in tasks)
    assert {r.status for r in results} == {"ok"}
    got = [open(t.output, "rb").read() for t in tasks]
    expected = [open(r.output, "rb").read() for r in
                executors.run_serial([Task(t.input, t.output + ".ref.png") for t in tasks],
                                     SETTINGS)]
    assert got == expected


def test_a_dying_worker_fails_its_task_only(tasks, fake):
    results = list(executors.run_pool(tasks, SETTINGS, jobs=2))
    by_name = {os.path.basename(r.input): r for r in results}
    assert len(results) == len(tasks) == len(by_name)
    assert by_name["in3.png"].status == "error"
    assert by_name["in3.png"].error == "worker process died (exit code 3)"
    assert by_name["in5.png"].error == "bad"
    assert sum(r.status == "ok" for r in results) == len(tasks) - 2


def test_fail_fast_stops_scheduling(tasks, fake):
    serial = list(executors.run_serial(tasks[4:], SETTINGS, fail_fast=True))
    assert [r.status for r in serial] == ["ok", "error"] + ["skipped"] * 6
    assert serial[-1].error == "not started: stopped after an earlier error (--fail-fast)"
    pooled = list(executors.run_pool(tasks[4:], SETTINGS, jobs=2, fail_fast=True))
    assert len(pooled) == 8 and sum(r.status == "error" for r in pooled) == 1
    skipped = [r for r in pooled if r.status == "skipped"]
    assert skipped and all(r.error == executors.NOT_STARTED for r in skipped)


def test_closing_the_generator_stops_the_workers(tasks):
    results = executors.run_pool(tasks, SETTINGS, jobs=2)
    next(results)
    import multiprocessing

    assert len(multiprocessing.active_children()) == 2
    results.close()
    assert multiprocessing.active_children() == []
