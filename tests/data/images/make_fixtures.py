"""Writes the tiny odd images beside this script, one per defect or mode, named for it.

    python tests/data/images/make_fixtures.py

Each is a few hundred bytes; they are kept in the repository so the tests do not depend on
this script's Pillow version. Colours are the eight RGB cube corners, so mapping them onto a
palette of those corners has exactly one right answer.
"""

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
# File stems differ, so converting the whole directory to PNG gives no two inputs one output.
CORNERS = np.array([[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255],
                    [255, 255, 0], [255, 0, 255], [0, 255, 255], [255, 255, 255]], np.uint8)


def blocks(w=8, h=4) -> np.ndarray:
    """A w x h image whose every 2x2 block is one cube corner (survives JPEG at quality 95)."""
    yy, xx = np.mgrid[0:h, 0:w]
    return CORNERS[((yy // 2) * (w // 2) + xx // 2) % 8]


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png16(rgb16: np.ndarray) -> bytes:
    """A 16-bit-per-sample RGB PNG, written by hand (Pillow cannot write one)."""
    h, w, _ = rgb16.shape
    raw = b"".join(b"\0" + rgb16[y].astype(">u2").tobytes() for y in range(h))
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0))
            + _chunk(b"IDAT", zlib.compress(raw)) + _chunk(b"IEND", b""))


def huge_png() -> bytes:
    """A PNG header claiming 100000 x 100000 pixels (refused before any decoding)."""
    return (b"\x89PNG\r\n\x1a\n"
            + _chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 0, 0, 0, 0))
            + _chunk(b"IDAT", zlib.compress(b"\0" * 16)) + _chunk(b"IEND", b""))


def _s15(v: float) -> bytes:
    return struct.pack(">i", round(v * 65536))


def swapped_rb_profile() -> bytes:
    """An ICC v2 RGB matrix/TRC profile whose red and blue primaries are sRGB's blue and red.

    Colorants: the D50-adapted sRGB primaries as in the ICC's sRGB profile. A pixel (255, 0, 0)
    in this space is sRGB blue, so converting to sRGB must swap the red and blue channels.
    """
    r = (0.4360747, 0.2225045, 0.0139322)
    g = (0.3850649, 0.7168786, 0.0971045)
    b = (0.1430804, 0.0606169, 0.7141733)
    text = b"palcli test: red and blue swapped\0"
    desc = (b"desc\0\0\0\0" + struct.pack(">I", len(text)) + text + b"\0" * 8
            + b"\0\0\0" + b"\0" * 67)
    curv = b"curv\0\0\0\0" + struct.pack(">IH", 1, 0x0233) + b"\0\0"  # gamma 2.2 (u8Fixed8)

    def xyz(v):
        return b"XYZ \0\0\0\0" + b"".join(_s15(c) for c in v)

    tags = [(b"desc", desc), (b"wtpt", xyz((0.9642, 1.0, 0.8249))), (b"rXYZ", xyz(b)),
            (b"gXYZ", xyz(g)), (b"bXYZ", xyz(r)), (b"rTRC", curv), (b"gTRC", curv),
            (b"bTRC", curv), (b"cprt", b"text\0\0\0\0public domain\0\0\0")]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for sig, data in tags:
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data + b"\0" * (-len(data) % 4)
    size = offset + len(body)
    header = (struct.pack(">I", size) + b"lcms" + struct.pack(">I", 0x02100000) + b"mntr"
              + b"RGB XYZ " + b"\0" * 12 + b"acsp" + b"\0" * 24 + struct.pack(">I", 0)
              + _s15(0.9642) + _s15(1.0) + _s15(0.8249) + b"\0" * 48)
    return header + struct.pack(">I", len(tags)) + table + body


def main() -> None:
    img = blocks()
    noise = np.random.default_rng(4).integers(0, 256, (64, 64, 3), dtype=np.uint8)

    buf = io.BytesIO()
    Image.fromarray(noise).save(buf, "PNG")
    (HERE / "truncated.png").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    buf = io.BytesIO()
    Image.fromarray(noise).save(buf, "JPEG", quality=90)
    (HERE / "truncated-jpeg.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    (HERE / "not-an-image.png").write_bytes(b"this is a text file with a .png name\n")
    (HERE / "huge-dimensions.png").write_bytes(huge_png())

    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    Image.fromarray(img).save(HERE / "exif-orientation-6.png", exif=exif)
    Image.fromarray(np.repeat(np.repeat(img, 4, 0), 4, 1)).save(
        HERE / "exif-orientation-6-jpeg.jpg", quality=95, exif=exif)

    Image.fromarray(img).save(HERE / "icc-swapped-rb.png", icc_profile=swapped_rb_profile())

    ramp = (np.arange(16, dtype=np.uint32) * 4369).astype(np.uint16).reshape(1, 16)
    Image.fromarray(ramp).save(HERE / "gray16.png")
    Image.fromarray(ramp).save(HERE / "gray16-tiff.tif")
    # Off the 257 grid so the high byte (not a rounding) must be taken: 0 -> 100, 255 -> 65435.
    (HERE / "rgb16.png").write_bytes(png16(np.where(img > 0, img.astype(np.uint16) * 257 - 100, 100)))

    cmyk = Image.new("CMYK", (8, 8), (0, 255, 255, 0))  # red
    cmyk.save(HERE / "cmyk.jpg", quality=95)
    cmyk.save(HERE / "cmyk-tiff.tif")

    pal = Image.fromarray((np.arange(16).reshape(4, 4) % 8).astype(np.uint8), "P")
    pal.putpalette(CORNERS.tobytes())
    pal.save(HERE / "palette-transparency.png", transparency=0)  # index 0 (black) transparent

    la = np.zeros((4, 8, 2), np.uint8)
    la[..., 0] = 255
    la[..., 1] = np.arange(8) * 36  # alpha 0, 36, ..., 252
    Image.fromarray(la, "LA").save(HERE / "la.png")
    Image.fromarray((np.indices((8, 8)).sum(0) % 2).astype(bool)).save(HERE / "mode1.png")

    frames = [Image.fromarray(np.full((8, 8, 3), c, np.uint8)) for c in CORNERS[1:4]]
    for name, extra in (("animated-gif.gif", {}), ("animated.png", {}),
                        ("animated-webp.webp", {"lossless": True})):
        frames[0].save(HERE / name, save_all=True, append_images=frames[1:],
                       duration=[100, 200, 300], loop=0, **extra)


if __name__ == "__main__":
    main()
