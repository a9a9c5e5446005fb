"""Without an optional extra, the feature that needs it is one usage error naming what to install.

The environment without it is real: a venv whose site-packages links every entry of this one
except the distributions left out, so `import distributed` (or fsspec, s3fs) really fails there.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import pytest
from PIL import Image

PALETTE = "#000000,#ffffff"


def top_level_entries(name: str) -> set[str]:
    """The names in site-packages that a distribution installed (packages, modules, metadata)."""
    try:
        dist = distribution(name)
    except PackageNotFoundError:
        return set()
    return {f.parts[0] for f in dist.files or () if f.parts[0] != ".."}


def venv_without(root: Path, *names: str) -> Path:
    """A venv holding this environment's packages but the distributions named; its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    here = Path(sysconfig.get_paths()["purelib"])
    there = Path(sysconfig.get_paths(vars={"base": str(root), "platbase": str(root)})["purelib"])
    left_out = set().union(*(top_level_entries(n) for n in names))
    for entry in here.iterdir():
        if entry.name not in left_out and not entry.name.startswith("__pycache__"):
            (there / entry.name).symlink_to(entry)
    return root / "bin" / "python"


def run(python: Path, *args):
    return subprocess.run([str(python), "-m", "palcli", *map(str, args)], capture_output=True,
                          text=True, timeout=120)


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("img") / "a.png"
    Image.new("RGB", (4, 3), (200, 30, 30)).save(path)
    return path


@pytest.fixture(scope="module")
def bare(tmp_path_factory) -> Path:
    """No dask, no fsspec, no backend."""
    return venv_without(tmp_path_factory.mktemp("bare"), "dask", "distributed", "fsspec",
                        "s3fs", "gcsfs")


@pytest.fixture(scope="module")
def fsspec_only(tmp_path_factory) -> Path:
    """fsspec, but no backend of an object store."""
    return venv_without(tmp_path_factory.mktemp("fsspec"), "dask", "distributed", "s3fs",
                        "gcsfs")


def test_the_venvs_really_lack_the_packages(bare, fsspec_only, image, tmp_path):
    for python, missing in ((bare, ["distributed", "dask", "fsspec", "s3fs"]),
                            (fsspec_only, ["distributed", "s3fs"])):
        for module in missing:
            r = subprocess.run([str(python), "-c", f"import {module}"], capture_output=True)
            assert r.returncode == 1, f"{module} importable in {python}"
        r = run(python, "convert", image, tmp_path / f"{python.parent.parent.name}.png",
                "-p", PALETTE)
        assert r.returncode == 0, r.stderr  # palcli itself works there


def test_dask_executor_without_the_extra(bare, image, tmp_path):
    r = run(bare, "convert", image, tmp_path / "out.png", "-p", PALETTE, "--executor", "dask",
            "--scheduler", "tcp://127.0.0.1:8786")
    assert r.returncode == 2
    assert r.stderr == "palcli: error: the dask executor needs Dask: pip install 'palcli[dask]'\n"
    assert not (tmp_path / "out.png").exists()


@pytest.mark.parametrize("venv, url, message", [
    ("bare", "s3://bucket/in/", "s3://bucket/in/: URLs need fsspec: pip install 'palcli[s3]'"),
    ("fsspec_only", "s3://bucket/in/",
     "s3://bucket/in/: the s3:// backend is not installed: pip install 'palcli[s3]'"),
    ("fsspec_only", "gs://bucket/in/",
     "gs://bucket/in/: the gs:// backend is not installed: pip install 'palcli[gcs]'"),
])
def test_url_without_its_backend(venv, url, message, request, image, tmp_path):
    python = request.getfixturevalue(venv)
    for args in ([url, tmp_path / "out"], [image, url]):
        r = run(python, "convert", *args, "-p", PALETTE)
        assert r.returncode == 2
        assert r.stderr == f"palcli: error: {message}\n"
