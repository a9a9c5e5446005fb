"""palcli.batch: the batch as a library call, and the cube reaching workers exactly once."""

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from palcli.batch import convert_batch, make_settings
from palcli.dither import DitherParams
from palcli.palette import load_palette
from palcli.plan import make_plan

PALETTE = "#000000,#ffffff,#ff0000,#0000ff"


def _images(d, n):
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)).save(d / f"i{i}.png")
    return d


def test_convert_batch_reports_every_input_once(tmp_path):
    src = _images(tmp_path / "in", 5)
    (src / "i0.gif").write_bytes((src / "i0.png").read_bytes())  # a second i0 -> out/i0.png
    out = tmp_path / "out"
    seen = []
    plan = make_plan([str(src)], str(out))
    settings = make_settings(load_palette(PALETTE), "rgb", DitherParams("bayer4"))
    report = convert_batch(plan, settings, jobs=2, on_result=seen.append)
    assert sorted(r.input for r in seen) == sorted(str(p) for p in src.iterdir())
    assert report.counts == {"ok": 5, "skipped": 0, "error": 1}
    assert report.exit_code() == 1
    again = convert_batch(make_plan([str(src)], str(out), skip_existing=True), settings)
    assert again.counts == {"ok": 0, "skipped": 5, "error": 1}


def test_serial_and_pool_write_identical_bytes(tmp_path):
    src = _images(tmp_path / "in", 6)
    settings = make_settings(load_palette("pico-8"), "oklab", DitherParams("floyd-steinberg"))
    for jobs in (1, 2):
        convert_batch(make_plan([str(src)], str(tmp_path / f"out{jobs}")), settings, jobs=jobs)
    for p in sorted(src.iterdir()):
        assert (tmp_path / "out1" / p.name).read_bytes() == (tmp_path / "out2" / p.name).read_bytes()


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_unwritable_cache_builds_the_cube_exactly_once(tmp_path, jobs):
    """With a cache dir nobody can write (not even root: a file stands where its parent should
    be), ciede2000 over 4 images on a pool: the parent builds the cube once and the workers get
    it through shared memory, never building it again."""
    src = _images(tmp_path / "in", 4)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file")
    env = dict(os.environ, PALCLI_CACHE_DIR=str(blocker / "cache"), PALCLI_DEBUG="1")
    code = "import sys; from palcli.cli import main; sys.argv[0] = 'palcli'; main()"
    r = subprocess.run([sys.executable, "-c", code, "convert", str(src), str(tmp_path / "out"),
                        "-p", PALETTE, "-m", "ciede2000", "-j", jobs], env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    lines = r.stderr.splitlines()
    assert [ln for ln in lines if "building" in ln] == [
        "palcli: building the inline cube (ciede2000)..."]
    assert len([ln for ln in lines if ln.startswith("palcli: built cube ")]) == 1
    warnings = [ln for ln in lines if ln.startswith("palcli: warning: ")]
    assert len(warnings) == 1 and "cannot write the cube cache" in warnings[0]
    assert len(list((tmp_path / "out").glob("*.png"))) == 4


@pytest.mark.parametrize("count, numba", [(2, False), (120, True)])
def test_workers_choose_numba_by_their_share_of_the_batch(tmp_path, count, numba):
    # Each process maps its share with what costs least over the whole share: 60 photos of
    # 4 MP a worker are worth numba's one-off start, one photo is not.
    code = (
        "import sys, numpy as np\n"
        "from palcli import engine, executors\n"
        "from palcli.batch import make_settings\n"
        "from palcli.dither import DitherParams\n"
        "from palcli.palette import load_palette\n"
        "from palcli.plan import Task\n"
        "from palcli.report import Result\n"
        "def work(task, settings):\n"
        "    choice = engine.use_numba(4_000_000)\n"
        "    if choice:\n"
        "        import palcli.kernels.lookup  # as mapping does: numba from then on\n"
        "    return Result(task.input, None, 'ok', str(choice))\n"
        "settings = make_settings(load_palette('pico-8'), 'rgb', DitherParams())\n"
        f"tasks = [Task(str(i), None) for i in range({count})]\n"
        "runs = executors.run_local(tasks, settings, jobs=2, work=work)\n"
        "print(sorted(set(r.error for r in runs)))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == str([str(True)] if numba else [str(False)])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_a_prepared_worker_reuses_freed_memory_instead_of_faulting_it_in_again(tmp_path):
    # Each image allocates and frees megabytes; glibc hands much of that back to the kernel and
    # faults it in again, zeroed, for the next image (5-10 ms of a 1 MP image). After prepare,
    # converting the same photos again faults in a fraction of the pages.
    y, x = np.mgrid[0:1000, 0:1000]
    for i in range(4):
        img = np.stack([(x + 40 * i) % 256, (y // 4) % 256, (x + y) % 256], -1)
        Image.fromarray(img.astype(np.uint8)).save(tmp_path / f"p{i}.jpg", quality=90)
    code = (
        "import resource, sys\n"
        "from pathlib import Path\n"
        "from palcli.batch import make_settings\n"
        "from palcli.dither import DitherParams\n"
        "from palcli.palette import load_palette\n"
        "from palcli.plan import Task\n"
        "from palcli import worker\n"
        "settings = make_settings(load_palette('pico-8'), 'rgb', DitherParams())\n"
        "if sys.argv[1] == 'plain':\n"
        "    worker._kept = True  # as before: glibc's defaults\n"
        "worker.prepare(settings)\n"
        "src = sorted(Path(sys.argv[2]).glob('*.jpg'))\n"
        "def run():\n"
        "    for p in src:\n"
        "        assert worker.convert_one(Task(str(p), str(p) + '.png'), settings).status == 'ok'\n"
        "run()\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
        "run()\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)\n")

    def faults(mode):
        return int(subprocess.run([sys.executable, "-c", code, mode, str(tmp_path)],
                                  capture_output=True, text=True, check=True).stdout)

    plain, prepared = faults("plain"), faults("prepared")
    assert prepared * 4 < plain, (prepared, plain)  # measured here: 1 against ~13,000
