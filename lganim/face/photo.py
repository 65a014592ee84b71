"""Reading a user's photo into a plain RGB array, safely.

`load_photo` accepts a path, raw bytes, a PIL image or a numpy array and always returns
uint8 [H, W, 3] RGB, upright (EXIF orientation applied), with transparency composited on white.
Every bad input (missing file, not an image, damaged file, too many pixels, too small, extreme
aspect ratio) raises `LganimError` with one line that says what to do. The pixel count is checked
from the file header before any pixel is decoded, so a decompression bomb costs nothing.
"""
from __future__ import annotations

import io
import os
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import LganimError

MAX_PIXELS = 40_000_000   # default cap on width * height (a 40 MP photo)
MIN_SIDE = 64             # shortest side accepted, in pixels
MAX_ASPECT = 8.0          # longest side / shortest side accepted


def _check_geometry(width: int, height: int, max_pixels: int) -> None:
    """Reject sizes we will not decode or cannot use; called on header sizes and decoded sizes."""
    if width * height > max_pixels:
        raise LganimError(f"The photo is too large ({width}x{height} = {width * height / 1e6:.0f} MP); "
                          f"use one with at most {max_pixels / 1e6:.0f} MP.")
    short, long = min(width, height), max(width, height)
    if short < MIN_SIDE:
        raise LganimError(f"The photo is too small ({width}x{height}); use one at least {MIN_SIDE} px "
                          "on its short side.")
    if long / short > MAX_ASPECT:
        raise LganimError(f"The photo's aspect ratio is too extreme ({width}x{height}); crop it to at most "
                          f"{MAX_ASPECT:g}:1.")


def _open(source) -> Image.Image:
    """Open `source` lazily (header only) as a PIL image."""
    if isinstance(source, Image.Image):
        return source
    if isinstance(source, (bytes, bytearray, memoryview)):
        stream, name = io.BytesIO(bytes(source)), "The uploaded data"
    elif isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        name = f"'{os.path.basename(path)}'"
        if not os.path.exists(path):
            raise LganimError(f"Photo file {name} was not found; check the path.")
        if not os.path.isfile(path):
            raise LganimError(f"{name} is not a file; give the path of an image file.")
        stream = path
    else:
        raise LganimError(f"Cannot read a photo from a {type(source).__name__}; give a file path, bytes, "
                          "a PIL image or a uint8 array.")
    try:
        return Image.open(stream)
    except UnidentifiedImageError:
        raise LganimError(f"{name} is not an image that can be read; upload a JPEG, PNG or WebP photo.") from None
    except Image.DecompressionBombError:
        raise LganimError("The photo declares too many pixels to decode safely; use a smaller photo.") from None
    except OSError as exc:
        raise LganimError(f"{name} could not be opened ({exc}); upload a JPEG, PNG or WebP photo.") from None


def _to_rgb_array(img: Image.Image) -> np.ndarray:
    """Decoded PIL image of any mode -> uint8 [H, W, 3] RGB."""
    mode = img.mode
    if mode.startswith("I;16"):
        # 16-bit gray: 0..65535 -> 0..255 with rounding (65535 / 257 = 255).
        a = np.asarray(img.convert("I"), dtype=np.float64) / 257.0
        return np.repeat(_round_u8(a)[..., None], 3, axis=2)
    if mode in ("I", "F"):
        a = np.asarray(img, dtype=np.float64)
        return np.repeat(_round_u8(_scale_to_255(a, mode))[..., None], 3, axis=2)
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode in ("P", "L", "RGB") and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"))
    return np.asarray(img.convert("RGB"))


def _scale_to_255(a: np.ndarray, mode: str) -> np.ndarray:
    """Map a 32-bit integer ('I') or float ('F') gray image onto 0..255.

    'I' holds 8-bit data (max <= 255), 16-bit data (max <= 65535) or arbitrary integers, which are
    stretched from 0 to their maximum; 'F' holds [0, 1] data or [0, 255] data.
    """
    a = np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0)
    top = float(a.max()) if a.size else 0.0
    if mode == "F":
        return a * 255.0 if top <= 1.0 else a
    if top <= 255:
        return a
    if top <= 65535:
        return a / 257.0
    return a / top * 255.0


def _round_u8(a: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(a), 0, 255).astype(np.uint8)


def _array_to_rgb(a: np.ndarray) -> np.ndarray:
    """numpy image [H, W], [H, W, 1], [H, W, 3] or [H, W, 4] (uint8, uint16, bool or float in [0, 1]) -> uint8 RGB."""
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[2] not in (1, 3, 4):
        raise LganimError(f"A photo array must be [H, W], [H, W, 3] or [H, W, 4]; got shape {tuple(a.shape)}.")
    if a.dtype == np.uint8:
        pass
    elif a.dtype == np.uint16:
        a = _round_u8(a / 257.0)
    elif a.dtype == np.bool_:
        a = a.astype(np.uint8) * 255
    elif np.issubdtype(a.dtype, np.floating):
        if not np.isfinite(a).all():
            raise LganimError("The photo array contains NaN or infinite values.")
        a = _round_u8(a * 255.0)
    else:
        raise LganimError(f"A photo array must be uint8, uint16 or float in [0, 1]; got {a.dtype}.")
    if a.shape[2] == 1:
        return np.repeat(a, 3, axis=2)
    if a.shape[2] == 4:
        alpha = a[..., 3:].astype(np.float32) / 255.0
        return _round_u8(a[..., :3] * alpha + 255.0 * (1.0 - alpha))
    return np.ascontiguousarray(a)


def check_photo(source, max_pixels: int = MAX_PIXELS) -> None:
    """What `load_photo` refuses from the header alone (a missing file, not an image, too large, too small or too
    elongated), without decoding the pixels: a command checks its photo before any model loads."""
    if isinstance(source, np.ndarray):
        return
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with _open(source) as img:
                _check_geometry(img.width, img.height, max_pixels)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise LganimError("The photo declares too many pixels to decode safely; use a smaller photo.") from None


def load_photo(source, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read a photo into uint8 [H, W, 3] RGB.

    Args:
        source: a file path (str or PathLike), the file's bytes, a PIL image or a numpy array
            ([H, W], [H, W, 3] or [H, W, 4]; uint8, uint16 or float in [0, 1]).
        max_pixels: largest width * height accepted, checked before decoding.

    Returns:
        uint8 [H, W, 3] RGB, upright: the EXIF orientation is applied; alpha is composited on white;
        CMYK, palette, gray and 16-bit images are converted (16-bit values are scaled by 1/257).
        The first frame of an animated file is used.

    Raises:
        LganimError: the file is missing, not an image, damaged or truncated, declares more than
            `max_pixels` pixels (e.g. a decompression bomb), is smaller than 64 px on its short side,
            or is more elongated than 8:1.
    """
    if isinstance(source, np.ndarray):
        rgb = _array_to_rgb(source)
        _check_geometry(rgb.shape[1], rgb.shape[0], max_pixels)
        return rgb
    with warnings.catch_warnings():
        # PIL warns (DecompressionBombWarning) before it refuses; both become our one error.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = _open(source)
            _check_geometry(img.width, img.height, max_pixels)
            try:
                img.seek(0)
                img.load()
                img = ImageOps.exif_transpose(img)
            except (Image.DecompressionBombError, Image.DecompressionBombWarning):
                raise
            except (OSError, SyntaxError, ValueError, EOFError, IndexError) as exc:
                raise LganimError(f"The photo file is damaged or incomplete ({exc}); upload the full file "
                                  "again or export it anew.") from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise LganimError("The photo declares too many pixels to decode safely; use a smaller photo.") from None
    rgb = _to_rgb_array(img)
    _check_geometry(rgb.shape[1], rgb.shape[0], max_pixels)
    return np.ascontiguousarray(rgb)


__all__ = ["check_photo", "load_photo", "MAX_PIXELS", "MIN_SIDE", "MAX_ASPECT"]
