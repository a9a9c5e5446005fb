"""The Pillow edge: read any image as sRGB uint8 pixels, write palette images.

    frames, info = read_frames("photo.jpg", max_pixels=None)   # [(H, W, 3|4) uint8], ImageInfo
    write_image(f, [(indices, transparent_mask)], palette.colors, "png")

Reading applies the EXIF orientation and converts an embedded ICC profile to sRGB; every mode
Pillow opens becomes RGB or RGBA (16-bit samples are rounded to 8 bits). Writing keeps the
palette exactly: an indexed PNG's PLTE is the palette's K colours (plus one transparent entry),
and the bytes depend on nothing but the pixels and the palette.
"""

from __future__ import annotations

import io
import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from PIL import Image

from .errors import ImageError, PalcliWarning
from .outputs import OUTPUTS, RLE_MAX_COLORS, Encoding, check_palette_fits

ANIMATED = frozenset({"GIF", "PNG", "WEBP"})  # input formats whose every frame is read
_ORIENTATION = 0x0112
_TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
              4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
              6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
              8: Image.Transpose.ROTATE_90}


@dataclass(frozen=True)
class ImageInfo:
    format: str | None  # Pillow's name for the input format ("JPEG", "PNG", ...)
    mode: str  # the input's mode before conversion ("P", "I;16", "CMYK", ...)
    size: tuple[int, int]  # (width, height) as stored, before the EXIF orientation
    frames: int  # frames in the file
    durations: tuple[int, ...] = ()  # milliseconds per frame read, when animated
    loop: int | None = None
    alpha: bool = False  # a frame read has an alpha channel


def open_image(source, max_pixels: int | None = None, *, name: str | None = None):
    """The first frame as an (H, W, 3|4) uint8 sRGB array, and an ImageInfo."""
    frames, info = read_frames(source, max_pixels, all_frames=False, name=name)
    return frames[0], info


def read_frames(source, max_pixels: int | None = None, *, all_frames: bool = True,
                name: str | None = None, four: bool = False) -> tuple[list[np.ndarray], ImageInfo]:
    """Every frame of an animated GIF/PNG/WebP (else the first) as (H, W, 3|4) uint8 arrays.

    source is a path or a binary file object; name is what errors call it. With four=True every
    frame has four channels, the fourth 255 when the image has no alpha (info.alpha tells),
    which is what Pillow holds in memory, so it costs no more than three. Raises ImageError
    for a missing, unreadable, corrupt or truncated file, or one over max_pixels (default
    Pillow's Image.MAX_IMAGE_PIXELS). Warns when frames are dropped.
    """
    name = str(source) if name is None else name
    limit = Image.MAX_IMAGE_PIXELS if max_pixels is None else max_pixels
    try:
        with _pillow_limit_off(), Image.open(source) as im:
            w, h = im.size
            if limit is not None and w * h > limit:
                raise ImageError(name, f"{w}x{h} = {w * h} pixels is over the limit of "
                                       f"{limit} (--max-pixels)")
            n = getattr(im, "n_frames", 1)
            read_all = all_frames and n > 1 and im.format in ANIMATED
            if n > 1 and not read_all and all_frames and im.format != "MPO":
                # MPO (camera JPEGs) carry previews and depth maps, not frames worth a word.
                warnings.warn(f"{name}: {n} frames in a {im.format} file; converted the first",
                              PalcliWarning, stacklevel=2)
            to_srgb = _icc_transform(im, name)
            orientation = im.getexif().get(_ORIENTATION, 1)
            frames, durations, alpha = [], [], False
            for i in range(n if read_all else 1):
                if i:
                    im.seek(i)
                frame = _to_srgb_image(im, to_srgb, orientation)
                alpha = alpha or frame.mode == "RGBA"
                if four and frame.mode == "RGB":
                    frames.append(np.frombuffer(frame.tobytes("raw", "RGBX"), np.uint8)
                                  .reshape(frame.height, frame.width, 4))
                else:
                    frames.append(np.asarray(frame))
                durations.append(int(im.info.get("duration", 0) or 0))
            info = ImageInfo(im.format, im.mode, (w, h), n,
                             tuple(durations) if read_all else (), im.info.get("loop"), alpha)
            return frames, info
    except ImageError:
        raise
    except (FileNotFoundError, PermissionError, IsADirectoryError) as exc:
        raise ImageError(name, (exc.strerror or str(exc)).lower()) from None
    except Image.UnidentifiedImageError:
        raise ImageError(name, "not an image file Pillow can read") from None
    except Exception as exc:  # Pillow raises many types for corrupt data; one message for all
        raise ImageError(name, f"cannot read image: {exc}") from None


@contextmanager
def _pillow_limit_off():
    # palcli applies its own limit (Pillow's warns above the limit and refuses only at twice it,
    # also when seeking GIF frames). Process-wide, which is fine for palcli's worker processes.
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def _to_srgb_image(im: Image.Image, to_srgb, orientation: int) -> Image.Image:
    """The current frame as an RGB or RGBA image in sRGB, turned as EXIF says."""
    frame = _normalize(im)
    if to_srgb is not None:
        frame = to_srgb(frame)
    if frame.mode in ("L", "CMYK"):
        frame = frame.convert("RGB")
    elif frame.mode == "LA":
        frame = frame.convert("RGBA")
    method = _TRANSPOSE.get(orientation)
    if method is not None:
        frame = frame.transpose(method)
    return frame


def _normalize(im: Image.Image) -> Image.Image:
    """8-bit L, LA, RGB, RGBA or CMYK: the modes an ICC transform (or a plain convert) takes."""
    mode = im.mode
    if mode in ("RGB", "RGBA", "L", "LA", "CMYK"):
        return im
    if mode.startswith("I"):  # I;16, I;16B, I;16L, I;16N and I (16-bit PNG/TIFF samples)
        a = np.clip(np.asarray(im).astype(np.int64), 0, 65535)
        return Image.fromarray(((a * 255 + 32767) // 65535).astype(np.uint8), "L")
    if mode == "1" or mode == "F":
        return im.convert("L")
    if mode in ("P", "PA"):
        alpha = mode == "PA" or im.has_transparency_data
        return im.convert("RGBA" if alpha else "RGB")
    if "A" in im.getbands() or mode in ("La", "RGBa"):
        return im.convert("RGBA")
    return im.convert("RGB")


def _icc_transform(im: Image.Image, name: str):
    """A function taking a normalized frame to sRGB, or None when no conversion is needed."""
    icc = im.info.get("icc_profile")
    if not icc:
        return None
    from PIL import ImageCms

    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        description = ImageCms.getProfileDescription(src)
    except (OSError, ImageCms.PyCMSError):
        warnings.warn(f"{name}: unreadable ICC profile ignored", PalcliWarning, stacklevel=3)
        return None
    if "srgb" in description.lower():
        return None  # already sRGB: a transform would only add rounding
    srgb = ImageCms.createProfile("sRGB")
    transforms: dict[str, object] = {}

    def to_srgb(frame: Image.Image) -> Image.Image:
        base = {"RGBA": "RGB", "LA": "L"}.get(frame.mode, frame.mode)
        alpha = frame.getchannel("A") if base != frame.mode else None
        if base not in transforms:
            try:
                transforms[base] = ImageCms.buildTransform(src, srgb, base, "RGB")
            except ImageCms.PyCMSError:
                warnings.warn(f"{name}: ICC profile does not fit a {base} image; ignored",
                              PalcliWarning, stacklevel=2)
                transforms[base] = None
        transform = transforms[base]
        if transform is None:
            return frame
        out = ImageCms.applyTransform(frame.convert(base) if alpha else frame, transform)
        if alpha is not None:
            out.putalpha(alpha)
        return out

    return to_srgb


# -- writing ----------------------------------------------------------------------------------

def write_image(fp, frames, colors: np.ndarray, fmt: str, *, rgb: bool = False,
                durations=(), loop=None, name: str = "", dithered: bool = False) -> None:
    """Write palette-index frames to a binary file object in output format fmt (OUTPUTS).

    frames: [(indices (H, W) uint8|uint16, transparent (H, W) bool or None)]. An indexed
    output's palette is exactly the palette (K colours, plus a transparent entry after them when
    a frame has transparent pixels); --rgb, formats without an indexed form and palettes over
    the format's indexed limit are written as RGB(A).
    """
    out = OUTPUTS[fmt]
    colors = np.ascontiguousarray(colors, dtype=np.uint8)
    k = len(colors)
    check_palette_fits(fmt, k)
    if len(frames) > 1 and not out.multi_frame:
        warnings.warn(f"{name}: {out.pillow} holds one frame; wrote the first of {len(frames)}",
                      PalcliWarning, stacklevel=2)
        frames = frames[:1]
    indexed = k <= out.max_colors and not (rgb and out.direct)
    transparent = any(mask is not None for _, mask in frames)
    if transparent and indexed and (not out.transparent_entry or k >= out.max_colors):
        why = (f"the palette has {k} colours, no room for a transparent entry"
               if out.transparent_entry else f"indexed {out.pillow} has no transparent entry")
        if out.alpha:
            warnings.warn(f"{why}: images with transparency are written as RGBA {out.pillow}",
                          PalcliWarning, stacklevel=2)
            indexed = False
        else:
            warnings.warn(f"{why}: transparent pixels were written opaque in the {out.pillow} "
                          f"output", PalcliWarning, stacklevel=2)
            frames, transparent = [(idx, None) for idx, _ in frames], False
    elif transparent and not indexed and not out.alpha:
        warnings.warn(f"{out.pillow} has no transparency: transparent pixels were written "
                      f"opaque", PalcliWarning, stacklevel=2)
        frames, transparent = [(idx, None) for idx, _ in frames], False
    entry = indexed and transparent
    if indexed:
        images = [_indexed_image(idx, mask, colors, entry) for idx, mask in frames]
    else:
        images = [_direct_image(idx, mask, colors) for idx, mask in frames]
    encoding = Encoding(indexed, k + entry, not dithered and k <= RLE_MAX_COLORS, len(images) > 1)
    _save(fp, images, out, encoding, durations, loop, k if entry else None)


def _indexed_image(idx: np.ndarray, mask, colors: np.ndarray, entry: bool) -> Image.Image:
    """Mode P: the palette's colours, plus the transparent entry (index K) when any frame of
    the image has one, so that every frame of an animation carries the same palette."""
    k = len(colors)
    if mask is not None:
        idx = np.where(mask, np.uint8(k), idx.astype(np.uint8, copy=False))
    idx = np.ascontiguousarray(idx, dtype=np.uint8)
    im = Image.frombuffer("P", (idx.shape[1], idx.shape[0]), idx, "raw", "P", 0, 1)
    im.putpalette(colors.tobytes() + (b"\0\0\0" if entry else b""), "RGB")
    return im


def _direct_image(idx: np.ndarray, mask, colors: np.ndarray) -> Image.Image:
    px = colors[idx]
    if mask is None:
        return Image.fromarray(px, "RGB")
    alpha = np.where(mask, np.uint8(0), np.uint8(255))
    return Image.fromarray(np.dstack((px, alpha)), "RGBA")


def _save(fp, images, out, encoding: Encoding, durations, loop, transparency) -> None:
    first, rest = images[0], images[1:]
    params = out.options(encoding)
    if rest:
        params.update(save_all=True, append_images=rest, loop=0 if loop is None else loop)
        if durations:
            params["duration"] = list(durations[:len(images)])
    if transparency is not None:
        params["transparency"] = transparency
    first.save(fp, out.pillow, **params)
