"""Real photographs for the benchmarks: the colour photos that scikit-image ships in its wheel.

    pip install scikit-image   # only the benchmarks need it

photos() gives them at their own sizes; photo_at(megapixels, i) resizes photo i (cycling) to
about that many pixels with Lanczos, so batches of same-sized real images can be made.
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

NAMES = ("astronaut.png", "chelsea.png", "coffee.png", "hubble_deep_field.jpg", "rocket.jpg",
         "motorcycle_left.png", "motorcycle_right.png", "retina.jpg")


def _data_dir() -> str:
    try:
        import skimage
    except ImportError as exc:  # pragma: no cover - a benchmark prerequisite
        raise SystemExit("the benchmarks need real photographs: pip install scikit-image") from exc
    return os.path.join(os.path.dirname(skimage.__file__), "data")


def photos() -> list[tuple[str, np.ndarray]]:
    d = _data_dir()
    return [(n.split(".")[0], np.asarray(Image.open(os.path.join(d, n)).convert("RGB")))
            for n in NAMES]


def photo_at(megapixels: float, i: int = 0) -> tuple[str, np.ndarray]:
    name = NAMES[i % len(NAMES)]
    im = Image.open(os.path.join(_data_dir(), name)).convert("RGB")
    scale = (megapixels * 1e6 / (im.width * im.height)) ** 0.5
    size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
    return name.split(".")[0], np.asarray(im.resize(size, Image.Resampling.LANCZOS))


def jpeg_batch(directory, count: int, megapixels: float = 1.0) -> None:
    """Write count JPEGs (quality 90) of about megapixels each into directory, cycling through
    the photos: photo000.jpg, photo001.jpg, ..."""
    from pathlib import Path

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    made: dict[int, np.ndarray] = {}
    for i in range(count):
        if i % len(NAMES) not in made:
            made[i % len(NAMES)] = photo_at(megapixels, i)[1]
        Image.fromarray(made[i % len(NAMES)]).save(directory / f"photo{i:03d}.jpg", quality=90)
