"""The Pillow edge: every odd input becomes the right sRGB pixels; outputs carry the palette."""

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from palcli.errors import ImageError, PalcliWarning
from palcli.images import open_frames, open_image, read_frames, write_image

DATA = Path(__file__).parent / "data" / "images"
CORNERS = np.array([[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255],
                    [255, 255, 0], [255, 0, 255], [0, 255, 255], [255, 255, 255]], np.uint8)


def blocks(w=8, h=4):
    """The picture the fixtures hold: 2x2 blocks of the eight cube corners in order."""
    yy, xx = np.mgrid[0:h, 0:w]
    return CORNERS[((yy // 2) * (w // 2) + xx // 2) % 8]


def decode(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def test_exif_orientation_is_applied():
    px, info = open_image(DATA / "exif-orientation-6.png")
    assert info.size == (8, 4)
    # Orientation 6: the stored picture is shown turned 90 degrees clockwise.
    assert np.array_equal(px, np.rot90(blocks(), k=-1))
    assert np.array_equal(px, np.asarray(ImageOps.exif_transpose(Image.open(
        DATA / "exif-orientation-6.png"))))


def test_exif_orientation_of_a_jpeg():
    px, _ = open_image(DATA / "exif-orientation-6-jpeg.jpg")
    assert px.shape == (32, 16, 3)
    expected = np.rot90(np.repeat(np.repeat(blocks(), 4, 0), 4, 1), k=-1)
    # JPEG blurs the edges of the 8x8 blocks; their centres keep their colours.
    assert np.abs(px[4::8, 4::8].astype(int) - expected[4::8, 4::8]).max() < 10


def test_icc_profile_is_converted_to_srgb():
    px, _ = open_image(DATA / "icc-swapped-rb.png")
    # The fixture's profile has red and blue primaries exchanged: sRGB must show them swapped.
    expected = blocks()[..., ::-1]
    assert np.abs(px.astype(int) - expected).max() <= 1


def test_unreadable_icc_profile_warns_and_is_ignored(tmp_path):
    path = tmp_path / "bad-icc.png"
    Image.fromarray(blocks()).save(path, icc_profile=b"not a profile at all")
    with pytest.warns(PalcliWarning, match="unreadable ICC profile ignored"):
        px, _ = open_image(path)
    assert np.array_equal(px, blocks())


def test_srgb_profile_is_left_alone(tmp_path):
    from PIL import ImageCms

    path = tmp_path / "srgb.png"
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    img = np.random.default_rng(1).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    Image.fromarray(img).save(path, icc_profile=srgb)
    assert np.array_equal(open_image(path)[0], img)


@pytest.mark.parametrize("name", ["gray16.png", "gray16-tiff.tif"])
def test_16_bit_gray_is_rounded_to_8_bits(name):
    px, info = open_image(DATA / name)
    assert info.mode.startswith("I")
    v = np.arange(16) * 4369  # the fixture's 16-bit ramp
    expected = np.round(v * 255 / 65535).astype(np.uint8)
    assert np.array_equal(px[0, :, 0], expected)
    assert np.array_equal(px[..., 0], px[..., 2])


def test_16_bit_rgb_png():
    px, _ = open_image(DATA / "rgb16.png")
    assert np.array_equal(px, blocks())


@pytest.mark.parametrize("name", ["cmyk.jpg", "cmyk-tiff.tif"])
def test_cmyk(name):
    px, info = open_image(DATA / name)
    assert info.mode == "CMYK" and px.shape == (8, 8, 3)
    assert np.abs(px.astype(int) - [255, 0, 0]).max() <= 3


def test_palette_with_transparency_becomes_rgba():
    px, info = open_image(DATA / "palette-transparency.png")
    assert info.mode == "P" and px.shape == (4, 4, 4)
    idx = np.arange(16).reshape(4, 4) % 8
    assert np.array_equal(px[..., :3], CORNERS[idx])
    assert np.array_equal(px[..., 3], np.where(idx == 0, 0, 255))


def test_la_and_mode_1():
    px, _ = open_image(DATA / "la.png")
    assert px.shape == (4, 8, 4) and (px[..., :3] == 255).all()
    assert px[0, :, 3].tolist() == [0, 36, 72, 108, 144, 180, 216, 252]
    px, _ = open_image(DATA / "mode1.png")
    assert px.shape == (8, 8, 3) and set(np.unique(px)) == {0, 255}


@pytest.mark.parametrize("name", ["animated-gif.gif", "animated.png", "animated-webp.webp"])
def test_every_frame_of_an_animation(name):
    frames, info = read_frames(DATA / name)
    assert info.frames == info.read == 3
    assert [f[0, 0, :3].tolist() for f in frames] == CORNERS[1:4].tolist()
    with open_frames(DATA / name) as (_, stream):
        assert [f.duration for f in stream] == [100, 200, 300]
    first, _ = open_image(DATA / name)
    assert np.array_equal(first[..., :3], frames[0][..., :3])


def test_other_multi_frame_files_warn_and_give_the_first(tmp_path):
    path = tmp_path / "pages.tif"
    pages = [Image.new("RGB", (4, 4), tuple(int(v) for v in c)) for c in CORNERS[1:3]]
    pages[0].save(path, save_all=True, append_images=pages[1:])
    with pytest.warns(PalcliWarning, match=r"pages.tif: 2 frames in a TIFF file; converted the "
                                           r"first"):
        frames, _ = read_frames(path, name="pages.tif")
    assert len(frames) == 1 and frames[0][0, 0].tolist() == [255, 0, 0]


@pytest.mark.parametrize("name, reason", [
    ("not-an-image.png", "not an image file Pillow can read"),
    ("truncated.png", "cannot read image: image file is truncated"),
    ("truncated-jpeg.jpg", "cannot read image: image file is truncated"),
    ("huge-dimensions.png", "100000x100000 = 10000000000 pixels is over the limit of 89478485 "
                            "(--max-pixels)"),
])
def test_bad_inputs_raise_image_error(name, reason):
    with pytest.raises(ImageError) as err:
        open_image(DATA / name, name=name)
    assert err.value.source == name
    assert err.value.reason.startswith(reason)


def test_max_pixels_refuses_above_and_accepts_at_the_limit():
    with pytest.raises(ImageError, match=r"8x4 = 32 pixels is over the limit of 31"):
        open_image(DATA / "exif-orientation-6.png", 31)
    assert open_image(DATA / "exif-orientation-6.png", 32)[0].shape == (8, 4, 3)


def test_a_larger_max_pixels_lifts_pillows_own_limit(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10)
    assert open_image(DATA / "exif-orientation-6.png", 1000)[0].shape == (8, 4, 3)
    assert Image.MAX_IMAGE_PIXELS == 10  # restored
    with pytest.raises(ImageError, match="over the limit of 10 "):
        open_image(DATA / "exif-orientation-6.png")  # default: Pillow's limit, read now


def test_missing_file():
    with pytest.raises(ImageError, match=r"nope.png: no such file or directory"):
        open_image("nope.png")


# -- writing ----------------------------------------------------------------------------------

def _indices(shape=(6, 5), k=8, seed=0):
    return np.random.default_rng(seed).integers(0, k, shape).astype(np.uint8)


def _png_chunks(data: bytes) -> dict:
    chunks, pos = {}, 8
    while pos < len(data):
        n = int.from_bytes(data[pos:pos + 4], "big")
        chunks.setdefault(data[pos + 4:pos + 8].decode(), data[pos + 8:pos + 8 + n])
        pos += 12 + n
    return chunks


@pytest.mark.parametrize("k, bits", [(2, 1), (4, 2), (5, 4), (16, 4), (17, 8), (200, 8)])
def test_indexed_png_carries_exactly_the_palette(k, bits):
    colors = np.random.default_rng(k).integers(0, 256, (k, 3), dtype=np.uint8)
    idx = _indices(k=k)
    buf = io.BytesIO()
    write_image(buf, [(idx, None)], colors, "png")
    chunks = _png_chunks(buf.getvalue())
    assert chunks["PLTE"] == colors.tobytes()
    assert chunks["IHDR"][8] == bits and chunks["IHDR"][9] == 3  # bit depth, colour type P
    assert "tRNS" not in chunks
    assert np.array_equal(np.asarray(decode(buf.getvalue())), idx)


def test_transparent_entry_is_appended_after_the_palette():
    colors = CORNERS[:5]
    idx = _indices(k=5)
    mask = np.zeros(idx.shape, bool)
    mask[0, :3] = True
    buf = io.BytesIO()
    write_image(buf, [(idx, np.where(mask, 10, 200).astype(np.uint8))], colors, "png")
    chunks = _png_chunks(buf.getvalue())
    assert chunks["PLTE"] == colors.tobytes() + b"\0\0\0"
    assert chunks["tRNS"] == b"\xff" * 5 + b"\0"
    out = np.asarray(decode(buf.getvalue()))
    assert np.array_equal(out, np.where(mask, 5, idx))


def test_256_colours_with_transparency_is_rgba_and_said():
    colors = np.random.default_rng(2).integers(0, 256, (256, 3), dtype=np.uint8)
    idx = _indices(k=256)
    mask = np.zeros(idx.shape, bool)
    mask[1, 1] = True
    buf = io.BytesIO()
    alpha = np.where(mask, 0, 255).astype(np.uint8)
    with pytest.warns(PalcliWarning, match="no room for a transparent entry"):
        write_image(buf, [(idx, alpha)], colors, "png")
    im = decode(buf.getvalue())
    assert im.mode == "RGBA"
    px = np.asarray(im)
    assert np.array_equal(px[..., :3], colors[idx])
    assert np.array_equal(px[..., 3], alpha)
    buf = io.BytesIO()  # without transparent pixels 256 colours still fit an indexed PNG
    write_image(buf, [(idx, None)], colors, "png")
    assert decode(buf.getvalue()).mode == "P"


def test_over_256_colours_and_rgb_give_rgb():
    colors = np.random.default_rng(3).integers(0, 256, (300, 3), dtype=np.uint8)
    idx = np.random.default_rng(4).integers(0, 300, (6, 5)).astype(np.uint16)
    for rgb, cols, ix in ((False, colors, idx), (True, CORNERS, _indices())):
        buf = io.BytesIO()
        write_image(buf, [(ix, None)], cols, "png", rgb=rgb)
        im = decode(buf.getvalue())
        assert im.mode == "RGB" and np.array_equal(np.asarray(im), cols[ix])


@pytest.mark.parametrize("fmt", ["png", "gif", "webp", "bmp", "tiff"])
def test_every_format_round_trips_the_palette_colours(fmt):
    idx = _indices()
    buf = io.BytesIO()
    write_image(buf, [(idx, None)], CORNERS, fmt)
    im = decode(buf.getvalue())
    assert np.array_equal(np.asarray(im.convert("RGB")), CORNERS[idx])
    if fmt != "webp":
        assert im.mode == "P"


def test_bytes_are_identical_on_every_run():
    idx = _indices((40, 30))
    outs = set()
    for _ in range(3):
        buf = io.BytesIO()
        write_image(buf, [(idx, np.where(idx == 3, 0, 255).astype(np.uint8))], CORNERS, "png")
        outs.add(buf.getvalue())
    assert len(outs) == 1


def test_animation_is_written_as_apng_and_gif():
    frames = [(np.full((4, 4), i, np.uint8), None) for i in (1, 2, 3)]
    for fmt in ("png", "gif"):
        buf = io.BytesIO()
        write_image(buf, frames, CORNERS, fmt, durations=(100, 200, 300), loop=0)
        im = decode(buf.getvalue())
        assert im.n_frames == 3
        got = []
        for i in range(3):
            im.seek(i)
            got.append(np.asarray(im.convert("RGB"))[0, 0].tolist())
        assert got == CORNERS[1:4].tolist()


def test_bmp_keeps_one_frame_and_says_so():
    frames = [(np.full((4, 4), i, np.uint8), None) for i in (1, 2)]
    buf = io.BytesIO()
    with pytest.warns(PalcliWarning, match="BMP holds one frame; wrote the first of 2"):
        write_image(buf, frames, CORNERS, "bmp", name="a.gif")
    assert np.asarray(decode(buf.getvalue()).convert("RGB"))[0, 0].tolist() == [255, 0, 0]
