import os
import tempfile

import pytest


def pytest_configure(config):
    # Keep the test run's cubes out of the user's cache, shared by every test in the run; keep
    # numba's compiled kernels across runs (else they would follow the cubes into a new dir).
    if "NUMBA_CACHE_DIR" not in os.environ:
        import platformdirs

        os.environ["NUMBA_CACHE_DIR"] = os.path.join(platformdirs.user_cache_dir("palcli"),
                                                     "numba")
    if "PALCLI_CACHE_DIR" not in os.environ:
        os.environ["PALCLI_CACHE_DIR"] = tempfile.mkdtemp(prefix="palcli-test-cache-")


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """A fresh, empty cache directory for one test."""
    d = tmp_path / "cache"
    monkeypatch.setenv("PALCLI_CACHE_DIR", str(d))
    return d
