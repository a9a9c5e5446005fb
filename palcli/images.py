"""The Pillow edge: read any image as sRGB uint8 pixels, write palette images.

    with open_frames("anim.gif", max_pixels=None) as (info, frames):
        for frame in frames: ...          # Frame: one (H, W, 4) array at a time
    write_image(f, [(indices, alpha)], palette.colors, "png")

Reading applies the EXIF orientation and converts an embedded ICC profile to sRGB; every mode
Pillow opens becomes RGB or RGBA (16-bit samples are rounded to 8 bits). Every frame of an
animation is composited onto the animation's canvas, as a browser shows it, and handed over one
at a time, so memory holds one decoded frame. --max-pixels bounds each frame's extents (checked
by Pillow before it decodes them) and the sum over the frames read.

Writing keeps the palette exactly: an indexed PNG's PLTE is the palette's K colours (plus one
transparent entry), and the bytes depend on nothing but the pixels and the palette.
"""

from __future__ import annotations

import io
import os
import re
import stat
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from PIL import Image

from . import storage
from .errors import ImageError, PalcliWarning
from .outputs import (OUTPUTS, RLE_MAX_COLORS, STAMP_KEY, TIFF_DESCRIPTION, Encoding,
                      check_palette_fits)

ANIMATED = frozenset({"GIF", "PNG", "WEBP"})  # formats whose frames share one canvas
_ORIENTATION = 0x0112
_TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
              4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
              6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
              8: Image.Transpose.ROTATE_90}


@dataclass(frozen=True)
class ImageInfo:
    format: str | None  # Pillow's name for the input format ("JPEG", "PNG", ...)
    mode: str  # the input's mode before conversion ("P", "I;16", "CMYK", ...)
    size: tuple[int, int]  # (width, height) of the canvas, before the EXIF orientation
    frames: int  # frames in the file
    read: int  # frames handed over (all of an animation, or the first)
    loop: int | None = None


@dataclass(frozen=True)
class Frame:
    pixels: np.ndarray  # (H, W, 4) uint8: RGBA, or RGBX (fourth byte 255) without alpha
    alpha: bool  # the frame has an alpha channel
    duration: int  # milliseconds (0 when not animated)


def open_image(source, max_pixels: int | None = None, *, name: str | None = None):
    """The first frame as an (H, W, 3|4) uint8 sRGB array, and an ImageInfo."""
    frames, info = read_frames(source, max_pixels, all_frames=False, name=name)
    return frames[0], info


def read_frames(source, max_pixels: int | None = None, *, all_frames: bool = True,
                name: str | None = None) -> tuple[list[np.ndarray], ImageInfo]:
    """Every frame of an animated GIF/PNG/WebP (else the first) as (H, W, 3|4) uint8 arrays
    (four channels when the frame has alpha). See open_frames."""
    with open_frames(source, max_pixels, name=name, all_frames=all_frames) as (info, frames):
        arrays = [f.pixels if f.alpha else np.ascontiguousarray(f.pixels[..., :3])
                  for f in frames]
    return arrays, info


def open_input(path: str, max_pixels: int | None = None):
    """The input as a binary file: standard input read whole (up to a cap), or the file opened
    without blocking and refused unless it is a regular file (a FIFO would wait for ever)."""
    if path == "-":
        return io.BytesIO(_read_stdin(max_pixels))
    if storage.is_url(path):
        return storage.open_input(path)
    try:  # opened by name, so that plugins which hand the file to a helper (EPS) still can
        f = open(path, "rb", opener=lambda p, flags: os.open(p, flags | os.O_NONBLOCK))
    except OSError as exc:
        raise ImageError(path, (exc.strerror or str(exc)).lower()) from None
    if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
        f.close()
        raise ImageError(path, "not a regular file")
    os.set_blocking(f.fileno(), True)
    return f


def stdin_cap(max_pixels: int | None) -> int:
    """Bytes of standard input read at most: 8 per pixel of the --max-pixels budget (16-bit RGBA
    stored uncompressed), and 16 MiB besides for headers and metadata."""
    limit = Image.MAX_IMAGE_PIXELS if max_pixels is None else max_pixels
    return 8 * (limit or 0) + (16 << 20) if limit else 1 << 40


def _read_stdin(max_pixels: int | None) -> bytes:
    if sys.stdin is None:
        raise ImageError("-", "standard input is closed")
    cap = stdin_cap(max_pixels)
    chunks, size = [], 0
    while chunk := sys.stdin.buffer.read(1 << 20):  # in pieces: a signal is handled between
        size += len(chunk)
        if size > cap:
            raise ImageError("-", f"more than {cap} bytes on standard input: over what "
                                    f"--max-pixels allows for an image")
        chunks.append(chunk)
    return b"".join(chunks)


@contextmanager
def open_frames(source, max_pixels: int | None = None, *, name: str | None = None,
                all_frames: bool | Callable[[str | None], bool] = True):
    """(ImageInfo, an iterator of Frames) for an image file, while the block runs.

    source is a path or a binary file object; name is what errors call it. all_frames: True
    reads every frame of an animation (GIF, PNG, WebP), False the first frame alone;
    all_frames(format) says whether every frame of a file in that Pillow format is wanted (when
    not, a warning says frames were dropped). Raises ImageError, also while iterating, for a missing,
    unreadable, corrupt or truncated file, or one over max_pixels (default Pillow's
    Image.MAX_IMAGE_PIXELS): a frame whose extents exceed it is refused before it is decoded,
    and so are frames whose sum would.
    """
    name = str(source) if name is None else name
    limit = Image.MAX_IMAGE_PIXELS if max_pixels is None else max_pixels
    with _pillow_limit(None), _translated(name, limit):
        im = Image.open(source)  # its size is checked below, with a clearer message
    try:
        with _pillow_limit(limit):
            with _translated(name, limit):
                wanted = (all_frames(im.format) if callable(all_frames)
                          else all_frames and im.format in ANIMATED)
                info = _info(im, name, limit, wanted, warn=all_frames is not False)
            yield info, _frames(im, info, name, limit)
    finally:
        im.close()


@contextmanager
def _pillow_limit(limit: int | None):
    """Pillow's own decompression-bomb check, at palcli's limit, refuses any frame over it
    before decoding it (Pillow alone would warn, and refuse only at twice its limit)."""
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = limit  # process-wide: fine in palcli's worker processes
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    finally:
        Image.MAX_IMAGE_PIXELS = saved


@contextmanager
def _translated(name: str, limit: int | None):
    """Every failure of Pillow's as one ImageError naming the file; what its C decoders print
    on stderr (libtiff does) as one warning instead."""
    try:
        with _c_stderr(name):
            yield
    except ImageError:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise ImageError(name, _over_limit(str(exc), limit)) from None
    except (FileNotFoundError, PermissionError, IsADirectoryError) as exc:
        raise ImageError(name, (exc.strerror or str(exc)).lower()) from None
    except Image.UnidentifiedImageError:
        raise ImageError(name, "not an image file Pillow can read") from None
    except MemoryError:
        raise ImageError(name, "out of memory while decoding") from None
    except Exception as exc:  # Pillow raises many types for corrupt data; one message for all
        raise ImageError(name, f"cannot read image: {exc or type(exc).__name__}") from None


_scratch: list = []  # this process's file for what C code prints on stderr


@contextmanager
def _c_stderr(name: str):
    """Send file descriptor 2 to a scratch file while the block runs (C libraries write there
    directly, past Python), then say its first line as one warning."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    if not _scratch:
        import tempfile

        _scratch.append(tempfile.TemporaryFile())
    scratch = _scratch[0]
    scratch.seek(0)
    scratch.truncate()
    sys.stderr.flush()
    os.dup2(scratch.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        scratch.seek(0)
        said = scratch.read(4096).decode("utf-8", "replace").strip()
        if said:
            first = said.splitlines()[0].strip()
            warnings.warn(f"{name}: the decoder said: {first}", PalcliWarning, stacklevel=3)


def _over_limit(message: str, limit) -> str:
    m = re.search(r"\((\d+) pixels\)", message)
    size = f"{m.group(1)} pixels" if m else "a frame"
    return f"a frame of {size} is over the limit of {limit} (--max-pixels)"


def _info(im: Image.Image, name: str, limit: int | None, all_frames: bool,
          warn: bool) -> ImageInfo:
    # The canvas, and what the first frame reaches (Pillow grows a GIF to its extents).
    for w, h in (im.size, _canvas(im)):
        if limit is not None and w * h > limit:
            raise ImageError(name, f"{w}x{h} = {w * h} pixels is over the limit of {limit} "
                                   f"(--max-pixels)")
    w, h = _canvas(im)
    n = getattr(im, "n_frames", 1)
    read = n if all_frames else 1
    if warn and n > 1 and read == 1 and im.format != "MPO":
        # MPO (camera JPEGs) carry previews and depth maps, not frames worth a word.
        warnings.warn(f"{name}: {n} frames in a {im.format} file; converted the first",
                      PalcliWarning, stacklevel=4)
    if limit is not None and read > 1 and read * w * h > limit:
        raise ImageError(name, f"{read} frames of {w}x{h} = {read * w * h} pixels is over the "
                               f"limit of {limit} (--max-pixels)")
    return ImageInfo(im.format, im.mode, (w, h), n, read, im.info.get("loop"))


def _canvas(im: Image.Image) -> tuple[int, int]:
    """The size frames are shown at: a GIF's logical screen (Pillow grows the image to a frame
    that reaches beyond it, which no browser shows), else the image's size."""
    if im.format == "GIF":
        pos = im.fp.tell()
        try:
            im.fp.seek(6)
            raw = im.fp.read(4)
        finally:
            im.fp.seek(pos)
        if len(raw) == 4:
            w, h = int.from_bytes(raw[:2], "little"), int.from_bytes(raw[2:], "little")
            if w and h:
                return w, h
    return im.size


def _frames(im: Image.Image, info: ImageInfo, name: str, limit) -> Iterator[Frame]:
    with _translated(name, limit):
        to_srgb = _icc_transform(im, name)
        orientation = im.getexif().get(_ORIENTATION, 1)
    canvas = info.size if im.format in ANIMATED else None
    for i in range(info.read):
        try:
            with _translated(name, limit):
                if i:
                    im.seek(i)
                frame = _to_srgb_image(im, to_srgb, orientation, canvas)
                alpha = frame.mode == "RGBA"
                raw = frame.tobytes("raw", "RGBA" if alpha else "RGBX")
        except ImageError as exc:
            if i == 0 or "--max-pixels" in exc.reason or "out of memory" in exc.reason:
                raise
            # A broken later frame: keep the animation up to it, as a browser shows it.
            warnings.warn(f"{name}: frame {i + 1} of {info.read} cannot be read "
                          f"({exc.reason.removeprefix('cannot read image: ')}); wrote the "
                          f"{i} before it", PalcliWarning, stacklevel=2)
            return
        pixels = np.frombuffer(raw, np.uint8).reshape(frame.height, frame.width, 4)
        duration = int(im.info.get("duration", 0) or 0) if info.read > 1 else 0
        yield Frame(pixels, alpha, duration)


def _to_srgb_image(im: Image.Image, to_srgb, orientation: int, canvas=None) -> Image.Image:
    """The current frame as an RGB or RGBA image in sRGB, turned as EXIF says; clipped or
    padded (transparent) to the canvas size when one is given."""
    frame = _normalize(im)
    if canvas is not None and frame.size != tuple(canvas):
        frame = _on_canvas(frame, canvas)
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


def _on_canvas(frame: Image.Image, canvas) -> Image.Image:
    """frame at the canvas' size: what lies beyond it cut off, what it does not cover
    transparent."""
    w, h = canvas
    if frame.width >= w and frame.height >= h:
        return frame.crop((0, 0, w, h))
    out = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    out.paste(frame.convert("RGBA"), (0, 0))
    return out


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
                alpha_threshold: int = 128, durations=(), loop=None, name: str = "",
                dithered: bool = False, stamp: str | None = None) -> None:
    """Write palette-index frames to a binary file object in output format fmt (OUTPUTS).

    frames: [(indices (H, W) uint8|uint16, alpha (H, W) uint8 or None)]. An indexed output's
    palette is exactly the palette (K colours, plus a transparent entry after them when a pixel
    of any frame has alpha below alpha_threshold); --rgb, formats without an indexed form and
    palettes over the format's indexed limit are written as RGB, or RGBA with the alpha levels
    as they were.
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
    masks = [None if a is None else a < alpha_threshold for _, a in frames]
    transparent = any(m is not None and m.any() for m in masks)
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
            transparent = False
    if indexed:
        entry = transparent
        images = [_indexed_image(idx, mask if entry else None, colors, entry)
                  for (idx, _), mask in zip(frames, masks)]
    else:
        keep = out.alpha and any(a is not None and (a < 255).any() for _, a in frames)
        if not keep and any(m is not None and m.any() for m in masks):
            warnings.warn(f"{out.pillow} has no transparency: transparent pixels were written "
                          f"opaque", PalcliWarning, stacklevel=2)
        entry = False
        images = [_direct_image(idx, alpha if keep else None, colors, keep)
                  for idx, alpha in frames]
    encoding = Encoding(indexed, k + entry, not dithered and k <= RLE_MAX_COLORS, len(images) > 1,
                        stamp)
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


def _direct_image(idx: np.ndarray, alpha, colors: np.ndarray, with_alpha: bool) -> Image.Image:
    """RGB, or RGBA (every frame alike, so an animation's frames share one mode)."""
    px = colors[idx]
    if not with_alpha:
        return Image.fromarray(px, "RGB")
    if alpha is None:
        alpha = np.full(idx.shape, 255, np.uint8)
    return Image.fromarray(np.dstack((px, alpha)), "RGBA")


def read_stamp(path) -> str | None:
    """The settings stamp an output of palcli's carries, or None (another file, no stamp, or
    unreadable). Reads the header only."""
    try:
        with Image.open(path) as im:
            value = {"PNG": lambda: im.info.get(STAMP_KEY),
                     "GIF": lambda: im.info.get("comment"),
                     "WEBP": lambda: im.info.get("xmp"),
                     "TIFF": lambda: im.tag_v2.get(TIFF_DESCRIPTION)}.get(im.format, lambda: None)()
    except Exception:  # noqa: BLE001 - an unreadable output is simply not up to date
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return value if isinstance(value, str) and value.startswith("palcli:") else None


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
