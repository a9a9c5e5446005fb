"""--executor dask on a real cluster started here from the command line (a scheduler and two
single-process workers on 127.0.0.1), and s3:// paths on a real S3 server (moto's) on 127.0.0.1.

Outputs are byte-identical to the local pool's; a worker killed mid-batch loses no input; Ctrl-C
and --fail-fast cancel; an address where no scheduler answers is exit 2 within seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import distributed
import numpy as np
import pytest
from PIL import Image

from inputs import noisy_jpegs

pytestmark = pytest.mark.slow

DATA = Path(__file__).parent / "data" / "images"
PALETTE = "#000000,#ff0000,#00ff00,#0000ff,#ffff00,#ff00ff,#00ffff,#ffffff,#808080,#804000"
AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
       "AWS_DEFAULT_REGION": "us-east-1"}


def palcli(*args, env=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "palcli", *map(str, args)], capture_output=True,
                          env=env, timeout=timeout)


def start(*args, env) -> subprocess.Popen:
    # A session of its own: the test's Ctrl-C does not reach it, and it is stopped by its id.
    return subprocess.Popen([*args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # its own group: only what it started
            proc.wait()


@pytest.fixture(scope="module")
def s3_server():
    """moto's standalone S3 server on a free port of 127.0.0.1; its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="module")
def env(s3_server):
    """The environment of the cluster and of palcli: the test run's cube cache, the S3 server."""
    return {**os.environ, **AWS, "AWS_ENDPOINT_URL": s3_server}


@contextmanager
def running_cluster(d: Path, env: dict, *worker_options: str):
    """`dask scheduler` and two `dask worker --nworkers 1 --nthreads 1`; (the scheduler's
    address, its process). Ports are the system's free ones, passed on in a scheduler file."""
    file = d / "scheduler.json"
    dask = str(Path(sys.executable).parent / "dask")
    procs = [start(dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                   "--scheduler-file", str(file), env=env)]
    try:
        deadline = time.monotonic() + 60
        while not file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        for _ in range(2):
            procs.append(start(dask, "worker", "--scheduler-file", str(file), "--nworkers", "1",
                               "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard",
                               *worker_options, env=env))
        address = json.loads(file.read_text())["address"]
        with distributed.Client(address, set_as_default=False) as client:
            client.wait_for_workers(2, timeout=120)
        yield address, procs[0]
    finally:
        for proc in reversed(procs):
            stop(proc)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, env):
    with running_cluster(tmp_path_factory.mktemp("cluster"), env) as (address, _):
        yield address


@pytest.fixture(scope="module")
def fragile_cluster(tmp_path_factory, env):
    """A cluster whose workers may use 400 MB (the nanny kills one that uses more), where Dask
    gives a task two tries; the last test here kills its scheduler."""
    cluster_env = {**env, "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1"}
    with running_cluster(tmp_path_factory.mktemp("fragile"), cluster_env,
                         "--memory-limit", "400MB") as cluster:
        yield cluster


@pytest.fixture
def client(cluster):
    """A client of the cluster, once both workers are up (a test may have killed one)."""
    with distributed.Client(cluster, set_as_default=False) as c:
        c.wait_for_workers(2, timeout=120)
        yield c


def photo(seed: int, h: int = 48, w: int = 64) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * 255 // w, y * 255 // h, (x + y) * 127 // (h + w)], -1)
    return np.clip(base + rng.integers(-40, 40, (h, w, 3)), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """Every fixture image (animated GIF, PNG and WebP, CMYK, 16-bit, EXIF, ICC, broken ones)
    and a few photos with alpha and without."""
    d = tmp_path_factory.mktemp("inputs")
    for p in DATA.iterdir():
        if p.suffix != ".py" and p.name != "huge-dimensions.png":  # a bomb: slow to refuse
            shutil.copy(p, d / p.name)
    for i in range(6):
        Image.fromarray(photo(i)).save(d / f"photo{i}.jpg", quality=90)
    rgba = np.dstack([photo(9), np.tile(np.arange(64, dtype=np.uint8) * 4, (48, 1))])
    Image.fromarray(rgba).save(d / "alpha.png")
    return d


def report(r) -> dict[str, tuple[str, str | None]]:
    lines = [json.loads(line) for line in r.stdout.decode().splitlines()]
    by_input = {x["input"]: (x["status"], x["error"]) for x in lines}
    assert len(by_input) == len(lines), "an input reported twice"
    return by_input


def tree(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("options", [["-d", "floyd-steinberg", "-f", "same"],
                                     ["-d", "bayer4", "-m", "oklab"],
                                     ["-m", "ciede2000", "--rgb"]],
                         ids=["floyd-steinberg-same", "bayer4-oklab", "ciede2000-rgb"])
def test_dask_writes_the_local_pools_bytes(cluster, client, inputs, tmp_path, env, options):
    local = palcli("convert", inputs, tmp_path / "local", "-p", PALETTE, "-j", "2", *options,
                   "--report", "-", env=env)
    dask = palcli("convert", inputs, tmp_path / "dask", "-p", PALETTE, "--executor", "dask",
                  "--scheduler", cluster, *options, "--report", "-", env=env)
    assert local.returncode == dask.returncode == 1  # the broken fixtures
    assert report(dask) == report(local)
    assert {s for s, _ in report(dask).values()} == {"ok", "error"}
    got, expected = tree(tmp_path / "dask"), tree(tmp_path / "local")
    assert got == expected
    for stem in ("animated-gif", "animated", "animated-webp"):
        name = next(n for n in got if n.startswith(stem + "."))
        with Image.open(tmp_path / "dask" / name) as im:
            assert im.n_frames > 1, name


def test_relative_paths_and_the_address_from_the_environment(cluster, client, inputs,
                                                             tmp_path, env):
    """The workers' working directory is not palcli's: they get the paths made absolute, the
    report keeps them as given."""
    shutil.copy(inputs / "photo0.jpg", tmp_path / "photo0.jpg")
    r = subprocess.run([sys.executable, "-m", "palcli", "convert", "photo0.jpg", "out/",
                        "-p", PALETTE, "--executor", "dask", "--report", "-"], cwd=tmp_path,
                       capture_output=True, env={**env, "DASK_SCHEDULER_ADDRESS": cluster})
    assert r.returncode == 0, r.stderr
    assert report(r) == {"photo0.jpg": ("ok", None)}
    assert json.loads(r.stdout)["output"] == "out/photo0.png"
    with Image.open(tmp_path / "out" / "photo0.png") as im:
        assert im.mode == "P" and im.size == (64, 48)


def test_standard_input_and_output_stay_local(cluster, inputs, tmp_path):
    for args in (["-", tmp_path / "o.png"], [inputs / "photo0.jpg", "-"]):
        r = palcli("convert", *args, "-p", PALETTE, "--executor", "dask", "--scheduler", cluster)
        assert r.returncode == 2
        assert r.stderr.decode() == ("palcli: error: '-' (standard input or output) needs "
                                     "--executor local\n")


@pytest.fixture(scope="module")
def big_batch(tmp_path_factory) -> Path:
    """100 noisy 0.5 MP JPEGs: a few seconds of work for two workers."""
    return noisy_jpegs(tmp_path_factory.mktemp("big"), 100)


def launch(src: Path, out: Path, cluster: str, env, *extra) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "palcli", "convert", str(src), str(out), "-p",
                             PALETTE, "--executor", "dask", "--scheduler", cluster,
                             "--report", "-", *extra], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)


def wait_for_outputs(out: Path, n: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while len(list(out.glob("*.png"))) < n and proc.poll() is None:
        assert time.monotonic() < deadline, "no outputs appeared"
        time.sleep(0.02)
    assert proc.poll() is None, "the batch ended before the signal"


def assert_whole(out: Path) -> list[str]:
    """Every file in out is a whole 1000x500 PNG: no temp file, no partial output."""
    names = sorted(p.name for p in out.iterdir())
    assert all(n.endswith(".png") and not n.startswith(".") for n in names), names
    for name in names:
        with Image.open(out / name) as im:
            im.load()
            assert im.size == (1000, 500)
    return names


def idle(client) -> None:
    """Wait until the cluster runs nothing (cancelled tasks that were running finish)."""
    deadline = time.monotonic() + 60
    while any(client.processing().values()) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.2)


def test_a_worker_killed_mid_batch_loses_no_input(cluster, client, big_batch, tmp_path, env):
    victim = next(iter(client.run(os.getpid).values()))
    out = tmp_path / "out"
    proc = launch(big_batch, out, cluster, env)
    wait_for_outputs(out, 6, proc)
    os.kill(victim, signal.SIGKILL)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode in (0, 1), stderr
    records = [json.loads(line) for line in stdout.decode().splitlines()]
    assert sorted(x["input"] for x in records) == sorted(str(p) for p in big_batch.iterdir())
    assert {x["status"] for x in records} <= {"ok", "error"}
    ok = {Path(x["output"]).name for x in records if x["status"] == "ok"}
    idle(client)
    assert ok <= set(assert_whole(out))


def test_ctrl_c_cancels_and_exits_130(cluster, client, big_batch, tmp_path, env):
    out = tmp_path / "out"
    proc = launch(big_batch, out, cluster, env)
    wait_for_outputs(out, 4, proc)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert stderr.decode().splitlines()[-1] == "palcli: interrupted"
    reported = len(stdout.decode().splitlines())
    idle(client)
    names = assert_whole(out)
    assert reported <= len(names) < 100, "the futures were not cancelled"


def test_fail_fast_cancels_the_rest(cluster, client, big_batch, tmp_path, env):
    src = tmp_path / "src"
    shutil.copytree(big_batch, src)
    (src / "a-broken.jpg").write_bytes(b"not a jpeg")
    proc = launch(src, tmp_path / "out", cluster, env, "--fail-fast")
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 1
    records = [json.loads(line) for line in stdout.decode().splitlines()]
    assert sorted(x["input"] for x in records) == sorted(str(p) for p in src.iterdir())
    statuses = [x["status"] for x in records]
    assert statuses.count("error") == 1 and statuses.count("skipped") > 50
    assert stderr.decode().splitlines() == [f"palcli: error: {src / 'a-broken.jpg'}: "
                                            "not an image file Pillow can read"]


def test_an_input_that_kills_every_worker_is_one_error_record(fragile_cluster, tmp_path, env):
    """A 64 MP image on workers allowed 400 MB: the nanny kills each worker that decodes it.
    The others in its chunk are tried alone and converted; it alone is an error."""
    src = tmp_path / "src"
    src.mkdir()
    for i in range(40):
        Image.fromarray(photo(i, 24, 32)).save(src / f"p{i:02d}.png")
    y, x = np.mgrid[0:8000, 0:8000]
    big = np.stack([x % 256, y % 256, (x + y) % 256], -1).astype(np.uint8)
    Image.fromarray(big).save(src / "p20-huge.png", compress_level=1)
    del big, x, y
    r = palcli("convert", src, tmp_path / "out", "-p", PALETTE, "--max-pixels", "100000000",
               "--executor", "dask", "--scheduler", fragile_cluster[0], "--report", "-", env=env)
    assert r.returncode == 1, r.stderr
    statuses = {Path(k).name: v for k, v in report(r).items()}
    assert statuses.pop("p20-huge.png") == ("error", "the Dask workers running it died, "
                                                     "on every try")
    assert statuses == {f"p{i:02d}.png": ("ok", None) for i in range(40)}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(statuses)


def test_losing_the_scheduler_mid_batch_is_an_error_record_per_input_left(
        fragile_cluster, big_batch, tmp_path, env):
    address, scheduler = fragile_cluster
    out = tmp_path / "out"
    proc = launch(big_batch, out, address, env)
    wait_for_outputs(out, 4, proc)
    scheduler.send_signal(signal.SIGKILL)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 1
    records = [json.loads(line) for line in stdout.decode().splitlines()]
    assert sorted(x["input"] for x in records) == sorted(str(p) for p in big_batch.iterdir())
    lost = [x for x in records if x["status"] != "ok"]
    assert lost and all(x["error"] == "not converted: the connection to the Dask scheduler was "
                                      "lost" for x in lost)
    lines = stderr.decode().splitlines()
    assert "Traceback" not in stderr.decode()
    assert [line for line in lines if "not converted" in line] == [
        f"palcli: error: {x['input']}: {x['error']}" for x in lost]


def silent_listener():
    """A socket that accepts connections and never answers (as a proxy or another service
    might); its address."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted = []

    def accept():
        while True:
            try:
                accepted.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    return server


def test_no_scheduler_at_the_address_is_exit_2_naming_it(tmp_path, inputs):
    closed = socket.create_server(("127.0.0.1", 0))
    refused = f"tcp://127.0.0.1:{closed.getsockname()[1]}"
    closed.close()
    with silent_listener() as server:
        silent = f"tcp://127.0.0.1:{server.getsockname()[1]}"
        for address in (refused, silent):
            t = time.monotonic()
            r = palcli("convert", inputs, tmp_path / "out", "-p", PALETTE, "--executor", "dask",
                       "--scheduler", address)
            assert time.monotonic() - t < 30
            assert r.returncode == 2
            lines = r.stderr.decode().splitlines()
            assert len(lines) == 1 and lines[0].startswith(
                f"palcli: error: cannot reach the Dask scheduler at {address}: "), lines
            assert not (tmp_path / "out").exists()


def test_dask_without_an_address_is_a_usage_error(inputs, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DASK_SCHEDULER_ADDRESS"}
    r = palcli("convert", inputs, tmp_path / "out", "-p", PALETTE, "--executor", "dask", env=env)
    assert r.returncode == 2
    assert r.stderr.decode() == ("palcli: error: --executor dask needs --scheduler ADDRESS "
                                 "(or $DASK_SCHEDULER_ADDRESS)\n")


@pytest.fixture
def bucket(s3_server, inputs):
    """A fresh bucket holding the inputs under in/ (and a hidden file, never converted)."""
    import s3fs

    fs = s3fs.S3FileSystem(key="testing", secret="testing", endpoint_url=s3_server,
                           skip_instance_cache=True)
    name = f"palcli-{uuid.uuid4().hex[:12]}"
    fs.mkdir(name)
    fs.put(f"{inputs}/", f"{name}/in/", recursive=True)
    fs.pipe_file(f"{name}/in/.hidden.png", (inputs / "photo0.jpg").read_bytes())
    return fs, name


def test_s3_to_s3_with_both_executors_equals_a_local_run(cluster, client, bucket, inputs,
                                                         tmp_path, env):
    fs, name = bucket
    options = ["-p", PALETTE, "-d", "floyd-steinberg", "-f", "same", "--report", "-"]
    local = palcli("convert", inputs, tmp_path / "local", *options, env=env)
    runs = {
        "pool": palcli("convert", f"s3://{name}/in/", f"s3://{name}/pool/", "-j", "2", *options,
                       env=env),
        "dask": palcli("convert", f"s3://{name}/in/", f"s3://{name}/dask/", "--executor", "dask",
                       "--scheduler", cluster, *options, env=env),
    }
    expected = tree(tmp_path / "local")
    statuses = {Path(k).name: v for k, v in report(local).items()}
    for prefix, r in runs.items():
        assert r.returncode == 1, r.stderr  # the broken fixtures
        assert {Path(k).name: v for k, v in report(r).items()} == statuses
        keys = sorted(fs.find(f"{name}/{prefix}"))
        got = {k[len(f"{name}/{prefix}/"):]: fs.cat_file(k) for k in keys}
        assert got == expected, prefix
    rerun = palcli("convert", f"s3://{name}/in/", f"s3://{name}/pool/", "--skip-existing",
                   *options, env=env)
    assert {v for k, v in report(rerun).items() if statuses[Path(k).name][0] == "ok"} == \
        {("skipped", "output is up to date")}
