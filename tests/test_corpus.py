"""A real corpus of odd files: Pillow's own test images (about a thousand), never committed.

`.ci/run` unpacks them from a pinned Pillow sdist and points PALCLI_TEST_CORPUS at them; without
it the test fetches the same sdist with pip into pytest's cache. palcli converts the whole tree
in one run, under a 2 GiB address-space limit, and every promise about bad input is checked.
"""

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from palcli import load_palette

PILLOW_SDIST = "pillow==12.0.0"
LIMIT = 2 << 30  # bytes of address space for palcli and its workers
ENTRY = "import sys; from palcli.cli import main; sys.argv[0] = 'palcli'; main()"
# Runs palcli under the limit and prints the peak resident size of it and its workers.
UNDER_LIMIT = f"""
import resource, subprocess, sys
def limit():
    resource.setrlimit(resource.RLIMIT_AS, ({LIMIT}, {LIMIT}))
r = subprocess.run([sys.executable, "-c", {ENTRY!r}, *sys.argv[1:]], preexec_fn=limit)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
sys.exit(r.returncode)
"""


@pytest.fixture(scope="module")
def corpus(pytestconfig):
    given = os.environ.get("PALCLI_TEST_CORPUS")
    if given:
        return Path(given)
    cache = Path(pytestconfig.cache.mkdir("pillow-corpus"))
    images = next(cache.glob("pillow-*/Tests/images"), None)
    if images is None:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                        "--no-binary", ":all:", PILLOW_SDIST, "-d", str(cache)], check=True)
        with tarfile.open(next(cache.glob("pillow-*.tar.gz"))) as tar:
            members = [m for m in tar.getmembers() if "/Tests/images/" in m.name]
            tar.extractall(cache, members=members, filter="data")
        images = next(cache.glob("pillow-*/Tests/images"))
    return images


def _image_files(top: Path) -> list[Path]:
    """What convert's walk finds: files with a suffix Pillow reads, no hidden names."""
    from palcli.plan import image_suffixes

    suffixes = image_suffixes()
    found = []
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        found += [Path(dirpath, f) for f in filenames
                  if not f.startswith(".") and Path(f).suffix.lower() in suffixes]
    return found


def _pillow_loads(path: Path) -> bool:
    """Pillow opens the file and decodes its first frame, and every frame of an animation
    (what palcli reads), within its own decompression-bomb limit."""
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                im.load()
                if im.format in ("GIF", "PNG", "WEBP"):
                    for i in range(1, getattr(im, "n_frames", 1)):
                        im.seek(i)
                        im.load()
        return True
    except Exception:  # noqa: BLE001 - anything Pillow cannot load counts as unloadable
        return False


@pytest.mark.slow
def test_pillows_test_images_convert_without_a_traceback_in_bounded_memory(corpus, tmp_path):
    out = tmp_path / "out"
    report = tmp_path / "report.jsonl"
    r = subprocess.run([sys.executable, "-c", UNDER_LIMIT, "convert", corpus, out,
                        "-p", "pico-8", "-j", "2", "--report", report],
                       capture_output=True, text=True, timeout=1200)
    assert r.returncode == 1, r.stderr  # the corpus holds broken files on purpose
    assert "Traceback" not in r.stderr
    # Nothing but palcli's own lines: what C decoders print (libtiff) is folded into warnings.
    assert [line for line in r.stderr.splitlines() if not line.startswith("palcli: ")] == []
    assert "the decoder said: More samples per pixel" in r.stderr
    peak = int(r.stdout.split()[-1])
    assert peak < LIMIT, f"peak resident memory {peak / 2**30:.2f} GiB"

    records = [json.loads(line) for line in report.read_text().splitlines()]
    files = _image_files(corpus)
    assert sorted(rec["input"] for rec in records) == sorted(map(str, files))
    errors = {rec["input"]: rec["error"] for rec in records if rec["status"] == "error"}
    for path, reason in errors.items():  # one line each, naming the file
        assert f"palcli: error: {path}: {reason}\n" in r.stderr

    # A bomb whose frame extents reach far beyond its screen is refused, not decoded.
    bomb = str(corpus / "decompression_bomb_extents.gif")
    assert "is over the limit of 89478485 (--max-pixels)" in errors[bomb]

    conflicts = {p for p, e in errors.items() if " is also the output of " in e}
    wrongly_refused = [p for p in errors if p not in conflicts and _pillow_loads(Path(p))]
    assert not wrongly_refused, [(p, errors[p]) for p in wrongly_refused]
    print(f"\n{len(files)} files: {len(files) - len(errors)} converted, "
          f"{len(conflicts)} same-stem conflicts, {len(errors) - len(conflicts)} refused")

    colors = load_palette("pico-8").colors.astype(np.uint32)
    palette = set((colors[:, 0] << 16 | colors[:, 1] << 8 | colors[:, 2]).tolist())
    for rec in records:
        if rec["status"] != "ok":
            continue
        with Image.open(rec["output"]) as im:
            for i in range(getattr(im, "n_frames", 1)):
                im.seek(i)
                im.load()  # decodes in full: a truncated frame raises here
                px = np.asarray(im.convert("RGBA")).reshape(-1, 4).astype(np.uint32)
                px = px[px[:, 3] > 0]
                colours = set(np.unique(px[:, 0] << 16 | px[:, 1] << 8 | px[:, 2]).tolist())
                assert colours <= palette, rec["output"]
