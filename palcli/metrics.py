"""The metric registry: the one list the CLI, docs and tests draw choices from."""

from __future__ import annotations

METRICS: dict[str, str] = {
    "rgb": "squared Euclidean distance in 8-bit sRGB",
    "redmean": "the 'redmean' weighted RGB distance",
    "cie76": "Euclidean distance in CIELAB (D65)",
    "ciede2000": "CIEDE2000 colour difference (kL = kC = kH = 1)",
    "oklab": "Euclidean distance in OKLab",
}
DEFAULT_METRIC = "rgb"


def check_metric(metric: str) -> str:
    if not isinstance(metric, str) or metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}; got {metric!r}")
    return metric
