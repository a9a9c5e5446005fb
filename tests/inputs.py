"""Input batches that several test modules convert."""

import shutil
from pathlib import Path

import numpy as np
from PIL import Image


def noisy_jpegs(directory: Path, count: int) -> Path:
    """count copies of one noisy 0.5 MP JPEG (slow to encode as PNG: a batch worth
    interrupting or killing a worker in) in directory."""
    noise = np.random.default_rng(0).integers(0, 256, (500, 1000, 3), dtype=np.uint8)
    Image.fromarray(noise).save(directory / "n000.jpg", quality=80)
    for i in range(1, count):
        shutil.copy(directory / "n000.jpg", directory / f"n{i:03d}.jpg")
    return directory
