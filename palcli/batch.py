"""convert_batch(): a planned conversion run to the end on an executor, as a library call.

    settings = make_settings(palette, "oklab", DitherParams("floyd-steinberg"))
    report = convert_batch(plan, settings, jobs=4, on_result=print)
    report.exit_code()

Skipped and conflicting tasks of the plan become records too, so on_result sees one Result per
input, whatever became of it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace

from ._validate import check_choice
from .atomic import remove_stale
from .cube import make_ref, worker_ref
from .dither import DitherParams
from .executors import default_jobs, run_local
from .executors_dask import run_dask
from .palette import Palette
from .plan import Plan, Settings
from .report import ERROR, SKIPPED, Report, Result
from .storage import is_url

UP_TO_DATE = "output is up to date"
# name -> run(tasks, settings, *, jobs, fail_fast, **options): Results in completion order
EXECUTORS: dict[str, Callable] = {"local": run_local, "dask": run_dask}


def make_settings(palette: Palette, metric: str, dither: DitherParams, *, rgb: bool = False,
                  alpha_threshold: int = 128, max_pixels: int | None = None) -> Settings:
    """Settings for a checked palette, metric and dither (nothing is built yet)."""
    return Settings(palette, metric, dither, make_ref(palette, metric), rgb, alpha_threshold,
                    max_pixels)


def convert_batch(plan: Plan, settings: Settings, *, jobs: int | None = None,
                  executor: str = "local", fail_fast: bool = False,
                  on_result: Callable[[Result], None] | None = None, **options) -> Report:
    """Convert every task of plan; call on_result(result) as each input is done (in completion
    order), then return the Report. options go to the executor (dask: client= or address=).
    KeyboardInterrupt and other BaseExceptions stop the executor (no partial outputs) and
    propagate."""
    check_choice(executor, EXECUTORS, "executor")
    report = Report(on_result)
    for task in plan.skipped:
        report.add(Result(task.input, task.output, SKIPPED, UP_TO_DATE))
    for task, reason in plan.conflicts:
        report.add(Result(task.input, task.output, ERROR, reason))
    for directory, reason in plan.unreadable:
        report.add(Result(directory, "", ERROR, reason))
    if not plan.tasks:
        return report
    for directory in sorted({os.path.dirname(t.output) for t in plan.tasks
                             if t.output != "-" and not is_url(t.output)}):
        remove_stale(directory)  # what a killed run left, an hour or more ago
    jobs = min(jobs or default_jobs(), len(plan.tasks))
    # The cube is obtained here, once, before any worker starts; workers only open it.
    with worker_ref(settings.cube, share=jobs > 1 and executor == "local") as ref:
        report.add_all(EXECUTORS[executor](plan.tasks, replace(settings, cube=ref), jobs=jobs,
                                           fail_fast=fail_fast, **options))
    return report
