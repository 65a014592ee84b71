import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from lganim.errors import LganimError
from lganim.face.photo import load_photo
from tests import FACE_PHOTO

FACE = FACE_PHOTO


def _png_bytes(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", **kw)
    return buf.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height (8-bit RGB) but whose data is a few bytes."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + _chunk(b"IEND", b""))


def test_reads_astronaut_from_path_bytes_pil_and_array():
    ref = np.asarray(Image.open(FACE).convert("RGB"))
    a = load_photo(FACE)
    assert a.dtype == np.uint8 and a.shape == (512, 512, 3)
    np.testing.assert_array_equal(a, ref)
    np.testing.assert_array_equal(load_photo(str(FACE)), ref)
    np.testing.assert_array_equal(load_photo(FACE.read_bytes()), ref)
    np.testing.assert_array_equal(load_photo(Image.open(FACE)), ref)
    np.testing.assert_array_equal(load_photo(ref.copy()), ref)


def test_rgba_is_composited_on_white():
    rgba = np.zeros((80, 100, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:, :50, 3] = 255      # left half opaque red-ish, right half transparent
    out = load_photo(_png_bytes(Image.fromarray(rgba)))
    assert out.shape == (80, 100, 3)
    np.testing.assert_array_equal(out[0, 0], [200, 0, 0])
    np.testing.assert_array_equal(out[0, 99], [255, 255, 255])
    np.testing.assert_array_equal(load_photo(rgba)[0, 99], [255, 255, 255])


def test_cmyk_jpeg_is_converted():
    buf = io.BytesIO()
    Image.new("CMYK", (96, 80), (0, 255, 255, 0)).save(buf, format="JPEG", quality=95)  # pure red in CMYK
    out = load_photo(buf.getvalue())
    assert out.shape == (80, 96, 3)
    r, g, b = out[40, 48].astype(int)
    assert r > 200 and g < 60 and b < 60


def test_16bit_gray_png_is_scaled_to_8bit():
    a16 = np.full((70, 90), 65535, np.uint16)
    a16[:, :45] = 257 * 100
    img = Image.fromarray(a16)
    assert img.mode.startswith("I;16")
    out = load_photo(_png_bytes(img))
    assert out.shape == (70, 90, 3)
    np.testing.assert_array_equal(out[0, 0], [100, 100, 100])
    np.testing.assert_array_equal(out[0, 89], [255, 255, 255])
    # 'I' (32-bit int) mode holding 16-bit values is scaled the same way.
    out_i = load_photo(Image.fromarray(a16.astype(np.int32)))
    np.testing.assert_array_equal(out_i, out)
    np.testing.assert_array_equal(load_photo(a16), out)


def test_gray_and_palette():
    gray = Image.fromarray(np.full((64, 64), 77, np.uint8))
    np.testing.assert_array_equal(load_photo(_png_bytes(gray))[5, 5], [77, 77, 77])
    pal = Image.new("RGB", (64, 64), (10, 120, 230)).convert("P", palette=Image.Palette.ADAPTIVE)
    np.testing.assert_allclose(load_photo(_png_bytes(pal))[5, 5], [10, 120, 230], atol=2)


def test_exif_orientation_is_applied():
    a = np.zeros((64, 128, 3), np.uint8)
    a[:, :64] = 255                                    # white left half of a wide image
    exif = Image.Exif()
    exif[0x0112] = 6                                   # "rotate 90 CW to display"
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="JPEG", exif=exif.tobytes(), quality=95)
    out = load_photo(buf.getvalue())
    assert out.shape == (128, 64, 3)                   # displayed upright: tall
    assert out[:64].mean() > 200 and out[64:].mean() < 50


def test_missing_file(tmp_path):
    with pytest.raises(LganimError, match="not found"):
        load_photo(tmp_path / "nope.jpg")


def test_text_file_is_not_an_image(tmp_path):
    p = tmp_path / "hostname"
    p.write_text("some-machine\n")
    with pytest.raises(LganimError, match="not an image"):
        load_photo(p)
    with pytest.raises(LganimError, match="not an image"):
        load_photo(b"hello world")


def test_truncated_png(tmp_path):
    data = FACE.read_bytes()
    p = tmp_path / "cut.png"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(LganimError, match="damaged or incomplete"):
        load_photo(p)


def test_decompression_bomb_header_is_refused_before_decoding():
    # 100k x 100k: PIL itself refuses at open (DecompressionBombError) -> our error.
    with pytest.raises(LganimError, match="too many pixels"):
        load_photo(_png_header_only(100_000, 100_000))
    # 8000 x 6000 = 48 MP: above our 40 MP cap, below PIL's; the data is tiny, so only a header check
    # can produce this message (decoding would report a damaged file instead).
    with pytest.raises(LganimError, match="too large"):
        load_photo(_png_header_only(8000, 6000))
    # ~100 MP lies between PIL's warning and error thresholds: the warning must become our error too.
    with pytest.raises(LganimError, match="too many pixels"):
        load_photo(_png_header_only(10_000, 10_000), max_pixels=200_000_000)


def test_extreme_aspect_and_too_small():
    with pytest.raises(LganimError, match="aspect ratio"):
        load_photo(np.zeros((100, 1000, 3), np.uint8))
    with pytest.raises(LganimError, match="too small"):
        load_photo(_png_bytes(Image.new("RGB", (40, 300))))


def test_bad_array_and_type():
    with pytest.raises(LganimError, match="shape"):
        load_photo(np.zeros((64, 64, 2), np.uint8))
    with pytest.raises(LganimError, match="uint8"):
        load_photo(np.zeros((64, 64, 3), np.int64))
    with pytest.raises(LganimError, match="Cannot read"):
        load_photo(12345)
