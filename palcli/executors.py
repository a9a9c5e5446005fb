"""Executors: run tasks in-process or on a local process pool, behind one signature.

    for result in run_local(tasks, settings, jobs=4, fail_fast=False): ...

Each yields one Result per task, in completion order. Workers are processes that turn the
settings' CubeRef into the cube once, ignore SIGINT and read and write files themselves; tasks
(paths) go to them in small chunks over a pipe, results come back one by one. When the consumer
stops (Ctrl-C, SIGTERM, or closing the generator) workers are stopped and their temp files
removed, so no output is ever partial. The work done per task is convert_one (after prepare, once
per process) unless another module-level function work(task, settings) -> Result is given
(palcli.check's), with its own per-process setup(settings) or None.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections import deque
from contextlib import contextmanager

from . import engine
from .plan import Settings, Task
from .report import ERROR, SKIPPED, Result
from .worker import convert_one, prepare, remove_leftovers, stop_requested

NOT_STARTED = "not started: stopped after an earlier error (--fail-fast)"
_STOP_TIMEOUT = 0.8  # seconds workers get, together, to clean up after SIGTERM before SIGKILL


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def run_local(tasks: list[Task], settings: Settings, *, jobs: int | None = None,
              fail_fast: bool = False, work=None, setup=None):
    """The pool for several tasks and jobs, else in-process (no start-up cost at all)."""
    jobs = min(jobs or default_jobs(), len(tasks))  # never more workers than tasks
    logging.getLogger("palcli").debug("%d inputs on %d process%s", len(tasks), jobs,
                                      "es" * (jobs != 1))
    if jobs <= 1:
        return run_serial(tasks, settings, jobs=1, fail_fast=fail_fast, work=work, setup=setup)
    return run_pool(tasks, settings, jobs=jobs, fail_fast=fail_fast, work=work, setup=setup)


def run_serial(tasks: list[Task], settings: Settings, *, jobs: int = 1, fail_fast: bool = False,
               work=None, setup=None):
    """Convert the tasks one after another in this process."""
    stopped = False
    work, setup = _job(work, setup)
    if tasks and setup is not None:
        setup(settings)
    for n, task in enumerate(tasks):
        if stopped:
            yield Result(task.input, task.output, SKIPPED, NOT_STARTED)
            continue
        engine.expect_tasks(len(tasks) - n - 1)
        result = work(task, settings)
        stopped = fail_fast and result.status == ERROR
        yield result


def run_pool(tasks: list[Task], settings: Settings, *, jobs: int, fail_fast: bool = False,
             work=None, setup=None):
    """Convert the tasks on `jobs` worker processes."""
    from multiprocessing.connection import wait as wait_any

    ctx = engine.process_context()
    chunk = max(1, min(16, len(tasks) // (jobs * 16)))  # amortise IPC on big batches only
    share = -(-len(tasks) // jobs)
    todo = deque(range(len(tasks)))
    workers: list[_Worker] = []
    stopped = False

    def feed(w: _Worker) -> _Worker:
        # Keep up to two chunks queued per worker, so it never waits for the parent.
        while todo and not stopped and len(w.inflight) < 2 * chunk:
            batch = [todo.popleft() for _ in range(min(chunk, len(todo)))]
            try:
                w.conn.send([(i, tasks[i]) for i in batch])
            except OSError:  # it has died: the batch waits for another worker
                todo.extendleft(reversed(batch))
                if w.inflight:
                    return w  # the main loop sees the death and fails the task it was on
                w = replace(w)
                continue
            w.inflight.extend(batch)
        return w

    def replace(w: _Worker) -> _Worker:
        w.process.join()
        w.conn.close()
        new = _Worker(ctx, settings, workers, work, setup, share)
        workers[workers.index(w)] = new
        return new

    try:
        for _ in range(jobs):
            workers.append(_Worker(ctx, settings, workers, work, setup, share))
        for w in list(workers):
            feed(w)
        while any(w.inflight for w in workers):
            busy = [w for w in workers if w.inflight]
            ready = set(wait_any([w.conn for w in busy] + [w.process.sentinel for w in busy]))
            for w in busy:
                if w.conn in ready or w.process.sentinel in ready:
                    result = w.receive()
                    if result is None:  # the worker died: the task it was on failed
                        i = w.inflight.popleft()
                        todo.extendleft(reversed(w.inflight))
                        w.inflight.clear()
                        _remove_leftovers(tasks[i], w.process.pid)
                        result = Result(tasks[i].input, tasks[i].output, ERROR,
                                        _death(w.process.exitcode, settings))
                        w = replace(w)
                    stopped = stopped or (fail_fast and result.status == ERROR)
                    yield result
                    feed(w)
        for i in todo:
            yield Result(tasks[i].input, tasks[i].output, SKIPPED, NOT_STARTED)
    except BaseException:
        _stop(workers, tasks)
        raise
    else:
        for w in workers:
            w.close()


class _Worker:
    """One worker process and the parent's end of its pipe."""

    def __init__(self, ctx, settings: Settings, siblings: list[_Worker], work, setup,
                 share: int):
        self.conn, child = ctx.Pipe()
        self.inflight: deque[int] = deque()
        fork = ctx.get_start_method() == "fork"
        # The parent's ends of every pipe, its own included, must not stay open in this child
        # (a dead parent must read as EOF); only fork copies them.
        inherited = [s.conn for s in siblings if s is not self] + [self.conn] if fork else []
        self.process = ctx.Process(target=_serve, args=(child, settings, inherited,
                                                         _log_level(), os.getpid(), work, setup,
                                                         share),
                                   daemon=True)
        with _signals_blocked():
            self.process.start()
        child.close()

    def receive(self) -> Result | None:
        """The next result, or None when the worker has died."""
        try:
            if self.conn.poll():
                i, result = self.conn.recv()
                if not self.inflight or self.inflight[0] != i:
                    raise RuntimeError("worker results out of order")
                self.inflight.popleft()
                return result
        except (EOFError, OSError):
            pass
        self.process.join()
        return None

    def close(self) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.process.join(_STOP_TIMEOUT)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


def _death(exitcode: int | None, settings: Settings) -> str:
    """Why a worker died, as its task's error."""
    if exitcode == -signal.SIGBUS:
        cube = getattr(settings, "cube", None)  # check's settings have none
        where = (cube.path if cube is not None else None) or "a memory-mapped file"
        return (f"worker process died of a bus error (SIGBUS): {where} shrank while it was "
                f"mapped (truncated or replaced in place?); run again to rebuild it")
    if exitcode is not None and exitcode < 0:
        return f"worker process died ({signal.Signals(-exitcode).name})"
    return f"worker process died (exit code {exitcode})"


def _stop(workers: list[_Worker], tasks: list[Task]) -> None:
    """SIGTERM every worker (each removes its temp file), wait for them together for at most
    _STOP_TIMEOUT, SIGKILL the rest, then remove any temp file left."""
    import time

    for w in workers:
        if w.process.is_alive():
            w.process.terminate()
    deadline = time.monotonic() + _STOP_TIMEOUT
    for w in workers:
        w.process.join(max(0.0, deadline - time.monotonic()))
    for w in workers:
        if w.process.is_alive():
            w.process.kill()
            w.process.join()
        for i in w.inflight:
            _remove_leftovers(tasks[i], w.process.pid)
        w.conn.close()


def _job(work, setup):
    """(work, setup) for a run: convert_one and prepare unless another work function is given
    (looked up when the run starts)."""
    return (convert_one, prepare) if work is None else (work, setup)


def _remove_leftovers(task: Task, pid: int) -> None:
    if task.output is not None:  # tasks that write nothing (palcli check) have no output
        remove_leftovers(task.output, pid)


_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def _signals_blocked():
    # Block SIGINT/SIGTERM while forking: the child starts with them blocked and unblocks them
    # only after _serve has set its own handlers; a signal meanwhile waits for the parent.
    if not hasattr(signal, "pthread_sigmask"):  # no fork either: spawned children start clean
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _log_level() -> int | None:
    """The level of the parent's 'palcli' log handlers, for spawned workers to copy."""
    logger = logging.getLogger("palcli")
    return logger.getEffectiveLevel() if logger.handlers else None


def _copy_logging(level: int | None) -> None:
    logger = logging.getLogger("palcli")
    if level is not None and not logger.handlers:  # spawned: nothing inherited
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("palcli: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(level)


def _serve(conn, settings: Settings, inherited, log_level: int | None, parent: int, work=None,
           setup=None, share: int = 1) -> None:
    """Worker main loop: receive a chunk of tasks, send back one result per task. share: the
    tasks this worker can expect to run (the batch over the workers)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl-C means
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    _die_with(parent)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
    for c in inherited:
        c.close()
    engine.one_thread_per_process()
    _copy_logging(log_level)
    work, setup = _job(work, setup)
    try:
        if setup is not None:
            setup(settings)
        while True:
            chunk = conn.recv()
            if chunk is None:
                return
            for i, task in chunk:
                share -= 1
                engine.expect_tasks(share)
                conn.send((i, work(task, settings)))
    except (EOFError, BrokenPipeError):
        return  # the parent has gone


def _exit_on_sigterm(signum, frame):
    stop_requested.set()  # a kernel's error raised meanwhile is this stop, not a bad input
    raise SystemExit(128 + signum)  # unwinds through write_atomic, which removes the temp file


def _die_with(parent: int) -> None:
    """SIGTERM this worker when its parent dies (Linux), even while it is busy; and go now if
    the parent is already gone. (Idle, it would see EOF on its pipe too.)"""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        raise SystemExit(0)
