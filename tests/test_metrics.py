import numpy as np
import pytest

import reference
from palcli.metrics import DEFAULT_METRIC, METRICS, check_metric


def test_registry_is_the_spec_table():
    assert list(METRICS) == ["rgb", "redmean", "cie76", "ciede2000", "oklab"]
    assert all(isinstance(m.description, str) and m.description for m in METRICS.values())
    assert all(callable(m.build) for m in METRICS.values())
    # The float metrics carry the space their distances live in; the integer ones do not.
    assert [name for name, m in METRICS.items() if m.space] == ["cie76", "ciede2000", "oklab"]
    assert DEFAULT_METRIC == "rgb"


@pytest.mark.parametrize("name", list(METRICS))
def test_check_metric_accepts_each_name(name):
    assert check_metric(name) == name


@pytest.mark.parametrize("bad", ["RGB", "cie94", "", None, 3])
def test_check_metric_names_the_argument_and_the_choices(bad):
    with pytest.raises(ValueError, match="metric") as e:
        check_metric(bad)
    assert "ciede2000" in str(e.value) and repr(bad) in str(e.value)


def test_reference_knows_every_metric():
    assert set(reference.METRICS) == set(METRICS)


def test_redmean_is_the_spec_formula():
    # (2 + rm/256) dR^2 + 4 dG^2 + (2 + (255 - rm)/256) dB^2, rm = (Ra + Rb) / 2
    a = np.array([200, 10, 30], dtype=np.uint8)
    b = np.array([100, 50, 0], dtype=np.uint8)
    rm = 150.0
    want = (2 + rm / 256) * 100 ** 2 + 4 * 40 ** 2 + (2 + (255 - rm) / 256) * 30 ** 2
    assert reference.distance(a, b, "redmean") == want


@pytest.mark.parametrize("metric", list(METRICS))
def test_distances_are_symmetric_and_zero_on_equal_colours(metric):
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, (200, 3), dtype=np.uint8)
    b = rng.integers(0, 256, (200, 3), dtype=np.uint8)
    np.testing.assert_allclose(reference.distance(a, b, metric),
                               reference.distance(b, a, metric), rtol=1e-12)
    assert (reference.distance(a, a, metric) == 0).all()
