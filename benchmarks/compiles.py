"""What a palcli run compiles with numba: kernels, type specialisations, seconds.

    python benchmarks/compiles.py LOG_DIR convert examples/ out/ -p pico-8

runs the palcli command line in this process (and in the pool workers it forks or spawns) with a
listener on numba's "numba:compile" event and a timer on its cache loads. Nothing is imported
ahead of palcli: the listener is attached when numba itself is imported, so a run that never
imports numba stays that way. Each process appends one JSON line per event to LOG_DIR/<pid>.jsonl
as it happens (pool workers may leave by os._exit). summarize(LOG_DIR) reads them back.

A dispatcher compiles its callees while typing itself, so compile events nest: `self` seconds
exclude nested compiles, and the self seconds of all events add up to the run's compile time.
"""

from __future__ import annotations

import importlib.abc
import json
import os
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

LOG_ENV = "PALCLI_COMPILE_LOG"
_stack = threading.local()


def _log(record: dict) -> None:
    path = Path(os.environ[LOG_ENV]) / f"{os.getpid()}.jsonl"
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")


def _name(dispatcher) -> str:
    f = dispatcher.py_func
    return f"{f.__module__}.{f.__qualname__}"


def _attach_listener(event) -> None:
    class Compiles(event.Listener):
        def on_start(self, ev):
            frames = getattr(_stack, "frames", None)
            if frames is None:
                frames = _stack.frames = []
            frames.append([time.perf_counter(), time.thread_time(), 0.0, 0.0])

        def on_end(self, ev):
            start, cpu_start, nested, nested_cpu = _stack.frames.pop()
            total = time.perf_counter() - start
            cpu = time.thread_time() - cpu_start
            if _stack.frames:
                _stack.frames[-1][2] += total
                _stack.frames[-1][3] += cpu
            _log({"kind": "compile", "name": _name(ev.data["dispatcher"]),
                  "sig": ", ".join(str(a) for a in ev.data["args"]),
                  "seconds": total, "self": total - nested, "cpu": cpu - nested_cpu,
                  "depth": len(_stack.frames)})

    event.register("numba:compile", Compiles())


def _attach_load_timer(caching) -> None:
    load = caching.Cache.load_overload

    def timed_load(self, sig, target_context):
        t = time.perf_counter()
        result = load(self, sig, target_context)
        if result is not None:
            _log({"kind": "load", "name": self._name, "sig": str(sig),
                  "seconds": time.perf_counter() - t})
        return result

    caching.Cache.load_overload = timed_load


_AFTER_IMPORT = {"numba.core.event": _attach_listener, "numba.core.caching": _attach_load_timer}


class _AfterImport(importlib.abc.MetaPathFinder):
    """Runs a callback on a module right after it is first executed."""

    def find_spec(self, name, path, target=None):
        if name not in _AFTER_IMPORT:
            return None
        sys.meta_path.remove(self)
        try:
            import importlib.util

            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        execute = spec.loader.exec_module

        def exec_module(module):
            execute(module)
            _AFTER_IMPORT[name](module)

        spec.loader.exec_module = exec_module
        return spec


def install(log_dir: str) -> None:
    """Record this process's compiles. Forked children inherit the hooks; spawned ones run this
    file again as __mp_main__ and install them from LOG_ENV (see the end of the file)."""
    os.environ[LOG_ENV] = str(Path(log_dir).resolve())
    os.makedirs(os.environ[LOG_ENV], exist_ok=True)
    _log({"kind": "start"})
    sys.meta_path.insert(0, _AfterImport())


def summarize(log_dir) -> dict:
    """{"processes", "numba_processes", "kernels": {name: [specialisations, self s, top-level s,
    self cpu s]}, "compile_s", "compile_cpu_s", "loads", "load_s", "sigs"} from one run's logs."""
    kernels: dict = defaultdict(lambda: [0, 0.0, 0.0, 0.0])
    out = {"processes": 0, "numba_processes": 0, "compile_s": 0.0, "compile_cpu_s": 0.0,
           "loads": 0, "load_s": 0.0, "sigs": defaultdict(list)}
    for path in sorted(Path(log_dir).glob("*.jsonl")):
        records = [json.loads(line) for line in path.read_text().splitlines()]
        out["processes"] += 1
        out["numba_processes"] += any(r["kind"] in ("compile", "load") for r in records)
        for r in records:
            if r["kind"] == "compile":
                k = kernels[r["name"]]
                k[0] += 1
                k[1] += r["self"]
                k[2] += r["seconds"] if r["depth"] == 0 else 0.0
                k[3] += r["cpu"]
                out["compile_s"] += r["self"]
                out["compile_cpu_s"] += r["cpu"]
                out["sigs"][r["name"]].append(r["sig"])
            elif r["kind"] == "load":
                out["loads"] += 1
                out["load_s"] += r["seconds"]
    out["kernels"] = dict(kernels)
    return out


def format_summary(s: dict, verbose: bool = False) -> list[str]:
    lines = [f"{s['processes']} process(es), {s['numba_processes']} used numba; compiled "
             f"{sum(k[0] for k in s['kernels'].values())} specialisations of "
             f"{len(s['kernels'])} functions in {s['compile_s']:.2f} s "
             f"({s['compile_cpu_s']:.2f} s of CPU); "
             f"{s['loads']} loaded from numba's cache in {s['load_s']:.2f} s"]
    rows = sorted(s["kernels"].items(), key=lambda kv: -kv[1][1])
    lines.append("  specialisations x seconds (CPU seconds), nested compiles excluded")
    for name, (count, self_s, top_s, cpu_s) in rows:
        short = name.removeprefix("palcli.")
        top = f"  (with callees {top_s:.2f} s)" if top_s else ""
        lines.append(f"  {count:3d} x {self_s:6.2f} s ({cpu_s:5.2f})  {short}{top}")
        if verbose:
            lines += [f"             ({sig})" for sig in s["sigs"][name]]
    return lines


def _main() -> None:
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    install(sys.argv[1])
    sys.argv = ["palcli", *sys.argv[2:]]
    from palcli.cli import main

    main()


if __name__ == "__main__":
    _main()
elif __name__ == "__mp_main__" and LOG_ENV in os.environ:
    install(os.environ[LOG_ENV])
