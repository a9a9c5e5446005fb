"""palcli on a Dask cluster against the local pool, and the scheduler's cost per task, in one run.

    pip install '.[dask]' scikit-image   # the cluster; benchmarks/photos.py takes photos from it
    python benchmarks/bench_scale.py [--photos 48] [--tiny 2000] [--repeat 5]

A cluster is started here as users start one: `dask scheduler` and two
`dask worker --nworkers 1 --nthreads 1` on 127.0.0.1, i.e. two single-process workers for two
cores, against `palcli convert -j 2`.
1. Throughput: a directory of 1 MP JPEGs made from real photos, PICO-8, no dither; whole palcli
   processes timed from start to exit, best of --repeat, the two executors interleaved. The
   cluster is warm, as a long-lived one is (workers have imported palcli and mapped the cube).
2. Cost per task: 2,000 tiny PNGs through convert_batch in this process, so that the work is
   almost all overhead: the scheduler process's CPU time (from /proc) per image, with palcli's
   chunked submission and with one Dask task per image; this process's CPU time (the client).
Then the paper estimate the README quotes, from these numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from photos import photo_at  # noqa: E402

PALETTE = "pico-8"
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


class Cluster:
    """A scheduler and `workers` single-thread worker processes, started as a user would."""

    def __init__(self, work: Path, env: dict, workers: int = 2):
        dask = str(Path(sys.executable).parent / "dask")
        file = work / "scheduler.json"
        self.procs = [self._start(env, dask, "scheduler", "--host", "127.0.0.1", "--port", "0",
                                  "--no-dashboard", "--scheduler-file", str(file))]
        while not file.exists():
            time.sleep(0.1)
        for _ in range(workers):
            self.procs.append(self._start(env, dask, "worker", "--scheduler-file", str(file),
                                          "--nworkers", "1", "--nthreads", "1",
                                          "--host", "127.0.0.1", "--no-dashboard"))
        self.address = json.loads(file.read_text())["address"]
        self.scheduler_pid = self.procs[0].pid
        from distributed import Client

        self.client = Client(self.address, set_as_default=False)
        self.client.wait_for_workers(workers, timeout=120)

    @staticmethod
    def _start(env, *args) -> subprocess.Popen:
        return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)

    def close(self) -> None:
        self.client.close()
        for proc in reversed(self.procs):
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def palcli_cmd(*args) -> list[str]:
    exe = Path(sys.executable).parent / "palcli"
    return [str(exe), *args] if exe.exists() else [sys.executable, "-m", "palcli", *args]


def wall(cmd, env) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - t


def make_inputs(work: Path, photos: int, tiny: int) -> tuple[Path, Path, float]:
    src = work / "photos"
    src.mkdir()
    cache: dict[int, np.ndarray] = {}
    for i in range(photos):
        if i % 8 not in cache:
            cache[i % 8] = photo_at(1.0, i)[1]
        Image.fromarray(cache[i % 8]).save(src / f"photo{i:03d}.jpg", quality=90)
    mp = sum(c.shape[0] * c.shape[1] for c in (cache[i % 8] for i in range(photos))) / 1e6
    small = work / "tiny"
    small.mkdir()
    rng = np.random.default_rng(0)
    for i in range(tiny):
        Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(
            small / f"t{i:05d}.png")
    return src, small, mp


def whole_processes(src: Path, work: Path, cluster: Cluster, env: dict, repeat: int) -> dict:
    """Best wall time of whole `palcli convert` processes, per executor."""
    commands = {
        "local pool -j 2": lambda out: palcli_cmd("convert", str(src), str(out), "-p", PALETTE,
                                                  "-j", "2", "-q"),
        "dask, 2 workers x 1 thread": lambda out: palcli_cmd(
            "convert", str(src), str(out), "-p", PALETTE, "-q", "--executor", "dask",
            "--scheduler", cluster.address),
    }
    for name, cmd in commands.items():  # warm: page cache, bytecode, workers' imports and cube
        wall(cmd(work / "warm"), env)
        shutil.rmtree(work / "warm")
    best = {name: float("inf") for name in commands}
    for r in range(repeat):  # interleaved, so a busy moment hurts both alike
        for name, cmd in commands.items():
            out = work / f"out-{r}-{name.split()[0]}"
            best[name] = min(best[name], wall(cmd(out), env))
            shutil.rmtree(out)
    return best


def in_process(src: Path, work: Path, runs: dict, repeat: int, scheduler_pid: int) -> dict:
    """Best (seconds, scheduler CPU, this process's CPU, workers' seconds per image) of
    convert_batch over src, per run; the executors ready (Dask imported and connected), as in
    a long batch."""
    from palcli.batch import convert_batch, make_settings
    from palcli.dither import DitherParams
    from palcli.palette import load_palette
    from palcli.plan import make_plan

    settings = make_settings(load_palette(PALETTE), "rgb", DitherParams())
    best: dict[str, tuple[float, float, float]] = {}
    for r in range(repeat):  # interleaved
        for name, options in runs.items():
            out = work / f"in-process-{r}"
            plan = make_plan([src], out)
            worker = []
            s0, c0, t0 = cpu_seconds(scheduler_pid), time.process_time(), time.perf_counter()
            report = convert_batch(plan, settings, on_result=lambda r: worker.append(r.seconds),
                                   **options)
            t, c = time.perf_counter() - t0, time.process_time() - c0
            s = cpu_seconds(scheduler_pid) - s0
            assert report.counts["ok"] == len(plan.tasks), report.counts
            shutil.rmtree(out)
            if name not in best or t < best[name][0]:
                best[name] = (t, s, c, sum(worker) / len(worker))
    return best


def _numba_started() -> bool:
    """In a worker: whether a numba kernel has run there."""
    from palcli.engine import numba_state

    return numba_state().started


def import_seconds(env: dict) -> float:
    """What importing distributed adds to a process that has numpy already (best of 3)."""
    code = ("import time, numpy, PIL.Image; t = time.perf_counter(); import distributed; "
            "print(time.perf_counter() - t)")
    return min(float(subprocess.run([sys.executable, "-c", code], env=env, check=True,
                                    capture_output=True, text=True).stdout) for _ in range(3))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", type=int, default=48)
    ap.add_argument("--tiny", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    env = dict(os.environ, PALCLI_CACHE_DIR=str(work / "cache"),
               PYTHONPYCACHEPREFIX=str(work / "pycache"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PALCLI_CACHE_DIR"] = env["PALCLI_CACHE_DIR"]
    cluster = None
    try:
        src, small, mp = make_inputs(work, args.photos, args.tiny)
        load0 = os.getloadavg()
        cluster = Cluster(work, env)
        local = {"executor": "local", "jobs": 2}
        dask = {"executor": "dask", "client": cluster.client}
        results = {
            "whole": whole_processes(src, work, cluster, env, args.repeat),
            "photos": in_process(src, work, {"local pool -j 2": local,
                                             "dask, 2 workers x 1 thread": dask},
                                 args.repeat, cluster.scheduler_pid),
            "tiny": in_process(small, work, {"local pool -j 2": local, "dask, chunked": dask,
                                             "dask, one task per image": {**dask, "chunk": 1}},
                               args.repeat, cluster.scheduler_pid),
            "import": import_seconds(env),
            "numba": sum(cluster.client.run(_numba_started).values()),
        }
        load1 = os.getloadavg()
        report(args, mp, results, load0, load1)
    finally:
        if cluster is not None:
            cluster.close()
        shutil.rmtree(work, ignore_errors=True)


def report(args, mp: float, results: dict, load0, load1) -> None:
    print(f"load average {load0[0]:.1f} {load0[1]:.1f} {load0[2]:.1f} at the start, "
          f"{load1[0]:.1f} {load1[1]:.1f} {load1[2]:.1f} at the end; {os.cpu_count()} cores")
    print(f"batch: {args.photos} JPEGs, {mp:.1f} MP, palette {PALETTE}, no dither, "
          f"best of {args.repeat}")
    ratios = {}
    for kind, label in (("photos", "executors ready (convert_batch in one process)"),
                        ("whole", "whole palcli processes")):
        print(f"  {label}:")
        rates = {}
        for name, best in results[kind].items():
            secs = best if kind == "whole" else best[0]
            rates[name] = args.photos / secs
            each = "" if kind == "whole" else f"  ({best[3] * 1e3:4.1f} ms per image in a worker)"
            print(f"    {name:28s} {secs:7.3f} s  {rates[name]:6.2f} img/s{each}")
        ratios[kind] = rates["dask, 2 workers x 1 thread"] / rates["local pool -j 2"]
    print(f"  dask / local throughput, executors ready  {ratios['photos']:5.2f}  (target >= 0.85)")
    print(f"  dask / local, whole processes             {ratios['whole']:5.2f}  (the client "
          f"imports distributed: {results['import']:.2f} s once per process)")

    tiny = results["tiny"]
    print(f"cost per task: {args.tiny} PNGs of 8x8 through convert_batch, best of {args.repeat}")
    for name, (secs, sched, client, _) in tiny.items():
        line = f"  {name:26s} {secs:7.3f} s  {secs / args.tiny * 1e3:6.3f} ms/img"
        if name.startswith("dask"):
            line += (f"; scheduler CPU {sched / args.tiny * 1e3:6.3f} ms/img, client CPU "
                     f"{client / args.tiny * 1e3:6.3f} ms/img")
        print(line)
    chunked = tiny["dask, chunked"][1] / args.tiny
    per_task = tiny["dask, one task per image"][1] / args.tiny
    client = tiny["dask, one task per image"][2] / args.tiny
    print(f"  scheduler CPU per image, chunked submission {chunked * 1e3:.3f} ms  (target < 2); "
          f"per Dask task {per_task * 1e3:.3f} ms, client CPU per Dask task {client * 1e3:.3f} ms")
    photos = results["photos"]
    print(f"  Dask workers that map with numba kernels by now: {results['numba']} of 2 (a worker "
          f"lives on, and numba starts once the pixels it has mapped would pay for it; a pool "
          f"worker lives for one batch)")
    estimate(photos["dask, 2 workers x 1 thread"][3] * args.photos / mp,
             photos["local pool -j 2"][3] * args.photos / mp, per_task, client)


def estimate(t: float, t_pool: float, per_task: float, client: float) -> None:
    """The paper estimate the README quotes: how many workers one scheduler keeps busy at 1 MP
    per task, and 10 million images on 100 workers. t: a long-lived worker's seconds per 1 MP
    image (t_pool: a fresh pool worker's, for the record)."""
    from palcli.executors_dask import CHUNK, chunk_seconds

    cost = max(per_task, client)  # the busier of scheduler and client, per Dask task
    print("paper estimate, 1 MP per task:")
    print(f"  a worker thread converts a 1 MP image in {t * 1e3:.0f} ms ({t_pool * 1e3:.0f} ms in "
          f"a fresh pool worker); a Dask task costs the scheduler {per_task * 1e3:.2f} ms and "
          f"the client {client * 1e3:.2f} ms of CPU")
    print(f"  one scheduler keeps {CHUNK * t / cost:,.0f} worker threads busy (chunks at their "
          f"cap of {CHUNK} images, {CHUNK * t:.1f} s of work per {cost * 1e3:.2f} ms), and "
          f"stays at most half busy up to {CHUNK * t / cost / 2:,.0f}")
    threads = 100
    size = max(1, min(CHUNK, int(chunk_seconds(threads) / t)))
    hours = 10_000_000 * t / threads / 3600
    print(f"  10 million images on {threads} workers: {hours:.1f} h of work "
          f"(10^7 x {t:.3f} s / {threads}), in chunks of {size} images: the scheduler "
          f"{10_000_000 / size * per_task / 3600:.1f} h busy in that time, the client "
          f"{10_000_000 / size * client / 3600:.1f} h")


if __name__ == "__main__":
    main()
