"""Ctrl-C and SIGTERM in the middle of a batch: exit 130/143, no temp files, no partial output."""

import signal
import subprocess
import sys
import time

import pytest
from PIL import Image

from inputs import noisy_jpegs

PALETTE = "#000000,#ff0000,#00ff00,#0000ff,#ffff00,#ff00ff,#00ffff,#ffffff"


@pytest.fixture(scope="module")
def big_batch(tmp_path_factory):
    """60 noisy 0.5 MP JPEGs: slow enough to encode (~1-2 s a batch) to be interrupted."""
    return noisy_jpegs(tmp_path_factory.mktemp("batch"), 60)


@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_mid_batch(big_batch, tmp_path, sig, code, jobs):
    out = tmp_path / "out"
    cmd = "import sys; from palcli.cli import main; sys.argv[0] = 'palcli'; main()"
    proc = subprocess.Popen([sys.executable, "-c", cmd, "convert", str(big_batch), str(out),
                             "-p", PALETTE, "-j", jobs], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not any(out.glob("*.png")) and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)  # well inside the batch: some written, some being written
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code, stderr
    assert stdout == b""
    assert stderr.decode().splitlines()[-1] == ("palcli: interrupted" if code == 130
                                                else "palcli: terminated")
    names = sorted(p.name for p in out.iterdir())
    assert not [n for n in names if not n.endswith(".png")], names  # no temp files left
    assert 0 < len(names) < 60, "the signal did not land mid-batch"
    for name in names:  # every output that exists is whole
        with Image.open(out / name) as im:
            im.load()
            assert im.size == (1000, 500)
