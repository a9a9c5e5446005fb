"""The Dask executor: the tasks of a batch on an existing Dask cluster.

    client = connect("tcp://scheduler:8786")     # UsageError naming the address if unreachable
    for result in run_dask(tasks, settings, client=client): ...

run_dask has run_local's signature plus where the cluster is, and yields one Result per task in
completion order. Dask schedules; palcli adds only the task glue:
- Tasks (paths) travel in chunks, each chunk one Dask task, and only a window of chunks is in
  flight, so a million inputs never make a million futures. A chunk holds about
  chunk_seconds() of work (from the times of the results so far; up to CHUNK tasks): enough
  that the scheduler, which spends a millisecond or two on each Dask task, stays at most half
  busy however many workers ask, and little enough that the bar moves. Chunks shrink towards
  the end of the batch (guided self-scheduling), so the workers finish together.
- A worker process turns settings.cube into the cube once (the per-process memo of
  palcli.cube.resolve) and reads and writes the files itself: pixels and the cube never pass
  through the scheduler, only tasks and Result records.
- Dask reruns a chunk whose worker died. A chunk that kept killing workers is split into single
  tasks; one that still does is tried once more at the end with nothing else of the batch in
  flight (Dask also blames tasks queued behind the culprit), and then is one error record: no
  input goes missing.
- Closing the generator (Ctrl-C, SIGTERM, --fail-fast) cancels the futures in flight. Dask does
  not stop a task that is already running: it finishes, and its output is whole.
- When the scheduler goes away mid-batch, every task not yet done is an error record.
"""

from __future__ import annotations

import logging
import math
import os
import time
import uuid
from collections import deque
from dataclasses import replace

from . import engine
from .atomic import remove_stale
from .errors import UsageError
from .executors import NOT_STARTED
from .plan import STDIO, Settings, Task
from .report import ERROR, SKIPPED, Result
from .storage import is_url
from .worker import convert_one, prepare

log = logging.getLogger("palcli")

CHUNK = 64  # tasks in one Dask task, at most
CHUNK_SECONDS = 0.5  # work in one Dask task, at least
SCHEDULER_SECONDS = 0.002  # a Dask task's cost at the scheduler (2-2.3 ms in bench_scale.py)
GUIDE = 4  # a chunk is at most 1/GUIDE of the remaining tasks per worker thread
WINDOW = 2  # chunks in flight per worker thread: one running, one queued behind it
CONNECT_TIMEOUT = 5.0  # seconds to reach the scheduler
LOOK = 1.0  # seconds between asking the scheduler how many worker threads it has
INSTALL = "pip install 'palcli[dask]'"
CANCELLED = "cancelled: stopped after an earlier error (--fail-fast)"
KILLED = "the Dask workers running it died, on every try"
LOST = "not converted: the connection to the Dask scheduler was lost"


def require() -> None:
    """UsageError naming the extra when Dask's distributed package is not installed."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise UsageError(f"the dask executor needs Dask: {INSTALL}") from None


def connect(address: str):
    """A distributed.Client of the scheduler at address; UsageError naming the address when no
    Dask scheduler answers there within CONNECT_TIMEOUT."""
    require()
    import asyncio

    from distributed import Client

    # Client() alone can wait for ever on a server that accepts the connection but is no
    # scheduler (a dashboard port, a proxy): ask for the scheduler's identity first, with a
    # deadline on the whole exchange.
    try:
        reply = asyncio.run(asyncio.wait_for(_identity(address), CONNECT_TIMEOUT))
    except (asyncio.TimeoutError, TimeoutError):
        reason = f"no answer within {CONNECT_TIMEOUT:g} s"
    except (OSError, ValueError, TypeError) as exc:  # refused, unresolvable, malformed
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    except Exception:  # noqa: BLE001 - whatever a stranger's bytes make of the protocol
        reason = "the server there is not a Dask scheduler"
    else:
        reason = "the server there is not a Dask scheduler"
        if isinstance(reply, dict) and reply.get("type") == "Scheduler":
            try:
                return Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
            except Exception as exc:  # noqa: BLE001 - it went away since it answered
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    raise UsageError(f"cannot reach the Dask scheduler at {address}: {reason}")


async def _identity(address: str):
    from distributed.comm import connect as open_comm
    from distributed.security import Security

    comm = await open_comm(address, timeout=CONNECT_TIMEOUT,
                           **Security().get_connection_args("client"))
    try:
        await comm.write({"op": "identity", "reply": True})
        return await comm.read()
    finally:
        comm.abort()


def run_dask(tasks: list[Task], settings: Settings, *, jobs: int | None = None,
             fail_fast: bool = False, address: str | None = None, client=None,
             chunk: int = CHUNK):
    """Convert the tasks on the Dask cluster of client (else one connected to at address).
    jobs is the cluster's to decide and ignored; chunk caps the tasks in one Dask task."""
    own = client is None
    if own:
        if not address:
            raise UsageError("the dask executor needs the scheduler's address")
        client = connect(address)
    try:
        yield from _Batch(client, tasks, settings, chunk).run(fail_fast)
    finally:
        if own:
            client.close()


def chunk_seconds(threads: int) -> float:
    """Work to put in one Dask task when `threads` worker threads ask for tasks: the scheduler
    then spends at most half its time on them."""
    return max(CHUNK_SECONDS, 2 * threads * SCHEDULER_SECONDS)


def _convert_chunk(tasks: list[Task], settings: Settings) -> tuple[str, list[Result]]:
    """In a Dask worker: convert the tasks; return this worker's address and the results."""
    from distributed import get_worker

    engine.one_thread_per_process()  # the worker's threads already use its cores
    prepare(settings)  # the cube, once per process
    return get_worker().address, [convert_one(task, settings) for task in tasks]


class _Batch:
    """One batch's futures: the chunks in flight and the tasks still to submit."""

    def __init__(self, client, tasks: list[Task], settings: Settings, chunk: int):
        self.client = client
        self.tasks = tasks
        self.settings = settings
        self.chunk = max(1, chunk)
        self.next = 0  # tasks[next:] are not submitted yet
        self.singles: deque[int] = deque()  # tasks of a chunk that kept killing workers
        self.suspects: deque[int] = deque()  # tasks that did so alone; one more try each, last
        self.alone: set[int] = set()  # suspects tried with nothing else of the batch in flight
        self.inflight: dict = {}  # future -> indexes of its tasks
        self.name = f"palcli-convert-{uuid.uuid4().hex[:12]}"
        self.submitted = 0
        self.workers: set[str] = set()  # addresses seen: at the start and in results
        self.stopped = False  # by --fail-fast
        self.lost = False  # the scheduler (the client gave up on it)
        self.threads = 0
        self.timed = [0, 0.0]  # results so far and their worker seconds
        self.largest = 0  # tasks in the largest chunk so far
        self.looked = -math.inf

    def run(self, fail_fast: bool):
        from distributed import as_completed

        # Results are fetched here, not by as_completed(with_results=True): a fetch that fails
        # there (the scheduler gone) leaves its future out of the iteration for ever.
        pending = as_completed(loop=self.client.loop)
        try:
            self._submit(pending)
            for future in pending:
                for result in self._results(future):
                    if fail_fast and result.status == ERROR and not self.stopped:
                        self.stopped = True
                        self._cancel()  # they come back cancelled, or done if they were
                    yield result
                if not (self.stopped or self.lost):
                    self._submit(pending)
        finally:
            self._cancel()
        left = [*self.singles, *self.suspects, *range(self.next, len(self.tasks))]
        yield from (self._records(left, ERROR, LOST) if self.lost
                    else self._records(left, SKIPPED, NOT_STARTED))
        if not self.lost and self.workers - set(self._ask(self.client.nthreads, {})):
            _remove_orphans(self.tasks)  # a worker was lost mid-batch

    def _ask(self, call, default, *args, **kwargs):
        """call(*args, **kwargs) on the client; default once the scheduler is lost (the client
        gives up on it and closes)."""
        if self.lost:
            return default
        try:
            return call(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - distributed raises what its comms raise
            log.debug("the Dask client failed: %r", exc)
            self.lost = True
            return default

    def _threads(self) -> int:
        """The cluster's worker threads, asked again at most every LOOK seconds: workers may
        join while the batch runs (an adaptive cluster, a job queue's)."""
        now = time.monotonic()
        if now >= self.looked + LOOK:
            self.looked = now
            nthreads = self._ask(self.client.nthreads, {})
            self.workers.update(nthreads)
            if not nthreads and not self.threads:
                log.info("the Dask cluster has no workers yet: the tasks wait for one")
            self.threads = max(1, sum(nthreads.values()))
        return self.threads

    def _submit(self, pending) -> None:
        """Top the window up with new chunks, in one call to the scheduler."""
        threads = self._threads()
        chunks = []
        while len(self.inflight) + len(chunks) < WINDOW * threads:
            if self.singles:
                chunks.append([self.singles.popleft()])
            elif self.next == len(self.tasks) and self.suspects:
                if not self.inflight and not chunks:  # last, and alone: see _results
                    self.alone.add(self.suspects[0])
                    chunks.append([self.suspects.popleft()])
                break
            elif self.next < len(self.tasks):
                size = self._chunk_size(threads)
                chunks.append(list(range(self.next, self.next + size)))
                self.next += size
            else:
                break
        if not chunks:
            return
        keys = [f"{self.name}-{self.submitted + n}" for n in range(len(chunks))]
        self.submitted += len(chunks)
        futures = self._ask(self.client.map, None, _convert_chunk,
                            [[_absolute(self.tasks[i]) for i in c] for c in chunks],
                            settings=self.settings, key=keys)
        if futures is None:  # not sent: reported with the tasks never sent
            self.singles.extend(i for c in chunks for i in c)
            return
        self.inflight.update(zip(futures, chunks))
        pending.update(futures)

    def _chunk_size(self, threads: int) -> int:
        """Tasks in the next chunk: about chunk_seconds() of work at the mean time per task so
        far, at most self.chunk, and at most 1/GUIDE of what each thread has left. Chunks start
        at one task and at most double from one to the next, so a few quick first results (a
        broken file fails fast) cannot send out a long chunk."""
        count, seconds = self.timed
        by_time = self.chunk if seconds <= 0 else int(chunk_seconds(threads) * count / seconds)
        tail = math.ceil((len(self.tasks) - self.next) / (GUIDE * threads))
        size = max(1, min(self.chunk, by_time, tail, 2 * self.largest if count else 1))
        self.largest = max(self.largest, size)
        return size

    def _results(self, future) -> list[Result]:
        indexes = self.inflight.pop(future)
        if future.status not in ("error", "cancelled"):  # finished (or lost, and redone)
            try:
                worker, results = future.result()
            except Exception:  # noqa: BLE001 - erred or cancelled since, or no scheduler
                if future.status not in ("error", "cancelled"):
                    self.lost = True
                    return self._records(indexes, ERROR, LOST)
            else:
                self.workers.add(worker)
                self.timed[0] += len(results)
                self.timed[1] += sum(r.seconds for r in results)
                return [replace(r, input=self.tasks[i].input, output=self.tasks[i].output)
                        for i, r in zip(indexes, results)]
        if future.status == "cancelled":
            if self.stopped:
                return self._records(indexes, SKIPPED, CANCELLED)
            self.lost = True  # not by palcli: the client lost the scheduler
            return self._records(indexes, ERROR, LOST)
        from distributed import KilledWorker

        exc = self._ask(future.exception, None)
        if exc is None:
            return self._records(indexes, ERROR, LOST)
        if isinstance(exc, KilledWorker):
            # Dask blames every task a dead worker held, also one queued behind the culprit:
            # the tasks of such a chunk get a try each, then a try with nothing else in flight.
            if len(indexes) > 1:
                self.singles.extend(indexes)
                return []
            if indexes[0] not in self.alone:
                self.suspects.extend(indexes)
                return []
            return self._records(indexes, ERROR, KILLED)
        return self._records(indexes, ERROR, f"{type(exc).__name__}: {exc}")

    def _records(self, indexes, status: str, reason: str) -> list[Result]:
        return [Result(self.tasks[i].input, self.tasks[i].output, status, reason)
                for i in indexes]

    def _cancel(self) -> None:
        live = [f for f in self.inflight if f.status == "pending"]
        if live:
            self._ask(self.client.cancel, None, live)


def _absolute(task: Task) -> Task:
    """The task as a worker, whose working directory is its own, must see it: local paths
    made absolute (the report keeps them as given)."""
    def where(path: str) -> str:
        return path if path == STDIO or is_url(path) else os.path.abspath(path)

    return replace(task, input=where(task.input), output=where(task.output))


def _remove_orphans(tasks: list[Task]) -> None:
    """Remove the temp files that workers killed mid-write left beside this batch's local
    outputs (those of processes no longer running here)."""
    for directory in sorted({os.path.dirname(t.output) for t in tasks
                             if t.output != STDIO and not is_url(t.output)}):
        remove_stale(directory, max_age=0)
