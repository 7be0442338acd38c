"""Tests for core.io.image_io: every input the loader promises to handle, and every way it may fail.

All images are made here with Pillow/numpy (or written byte by byte) in tmp_path.
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps, JpegImagePlugin

from core.io import image_io
from core.errors import PainterError
from core.io.image_io import MAX_PIXELS, load_image, resize_long_side, save_png

REPO_ROOT = Path(__file__).resolve().parents[2]

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)
QUADRANTS = (RED, GREEN, BLUE, WHITE)  # top-left, top-right, bottom-left, bottom-right


# --------------------------------------------------------------------------------------
# Helpers that build test images cheaply
# --------------------------------------------------------------------------------------


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def _adler32_combine(adler1: int, adler2: int, len2: int) -> int:
    """zlib's adler32_combine: the checksum of A+B from those of A and B (Python lacks it)."""
    base = 65521
    rem = len2 % base
    sum1 = adler1 & 0xFFFF
    sum2 = rem * sum1 % base
    sum1 = (sum1 + (adler2 & 0xFFFF) + base - 1) % base
    sum2 = (sum2 + ((adler1 >> 16) & 0xFFFF) + ((adler2 >> 16) & 0xFFFF) + base - rem) % base
    return (sum2 << 16) | sum1


def write_quadrant_png(path: Path, size: int, colours=QUADRANTS, rows_per_piece: int = 64) -> None:
    """An RGB size x size PNG with four solid quadrants, written without ever holding the image.

    Each run of identical rows is deflated once, ended with a full flush (so it refers to
    nothing before it), and the compressed bytes are repeated; the Adler-32 checksum is
    combined arithmetically. A 20000 px file takes a fraction of a second and a few MB.
    """
    half = size // 2
    stream = [b"\x78\x01"]
    adler = 1
    for left, right, count in ((colours[0], colours[1], half), (colours[2], colours[3], size - half)):
        row = b"\x00" + bytes(left) * half + bytes(right) * (size - half)
        for n_rows, repeats in ((rows_per_piece, count // rows_per_piece), (count % rows_per_piece, 1)):
            if n_rows == 0 or repeats == 0:
                continue
            piece = row * n_rows
            comp = zlib.compressobj(1, zlib.DEFLATED, -15)
            stream.append((comp.compress(piece) + comp.flush(zlib.Z_FULL_FLUSH)) * repeats)
            piece_adler = zlib.adler32(piece)
            for _ in range(repeats):
                adler = _adler32_combine(adler, piece_adler, len(piece))
    stream.append(zlib.compressobj(1, zlib.DEFLATED, -15).flush())
    stream.append(struct.pack(">I", adler))
    ihdr = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", b"".join(stream))
        + _png_chunk(b"IEND", b"")
    )


def write_quadrant_jpeg(path: Path, width: int, height: int, colours=QUADRANTS) -> None:
    """A width x height RGB JPEG with four solid quadrants, built from a two-MCU-row strip.

    With a restart marker after every MCU row, a row's entropy-coded bytes depend only on its
    own pixels, so the strip's two rows are repeated to any height and the SOF height patched.
    """
    assert width % 32 == 0 and height % 32 == 0
    half_w = width // 2
    strip = Image.new("RGB", (width, 32), colours[0])
    strip.paste(colours[1], (half_w, 0, width, 16))
    strip.paste(colours[2], (0, 16, half_w, 32))
    strip.paste(colours[3], (half_w, 16, width, 32))
    buf = io.BytesIO()
    strip.save(buf, "JPEG", quality=95, subsampling="4:2:0", restart_marker_rows=1)
    data = buf.getvalue()
    sos = data.index(b"\xff\xda")
    scan_start = sos + 2 + struct.unpack(">H", data[sos + 2 : sos + 4])[0]
    rst = data.index(b"\xff\xd0", scan_start)
    top, bottom = data[scan_start:rst], data[rst + 2 : data.rindex(b"\xff\xd9")]
    header = bytearray(data[:scan_start])
    struct.pack_into(">H", header, data.index(b"\xff\xc0") + 5, height)  # SOF0: height
    rows = [top] * (height // 32) + [bottom] * (height // 32)
    parts = [bytes(header)]
    for i, segment in enumerate(rows):
        if i:
            parts.append(bytes((0xFF, 0xD0 + (i - 1) % 8)))  # RST0..RST7 between rows
        parts.append(segment)
    parts.append(b"\xff\xd9")
    path.write_bytes(b"".join(parts))


def png_header_only(path: Path, width: int, height: int) -> None:
    """A PNG that claims a size but carries almost no pixel data: size checks must not decode it."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _png_chunk(b"IEND", b"")
    )


def noise_image(width: int, height: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


def painter_error(func, *args, **kwargs) -> str:
    """Run func, expect a PainterError, check it is one line, and return its message."""
    with pytest.raises(PainterError) as info:
        func(*args, **kwargs)
    message = str(info.value)
    assert message and "\n" not in message
    return message


def check_canonical(img: np.ndarray, shape: tuple[int, int] | None = None) -> None:
    assert isinstance(img, np.ndarray)
    assert img.dtype == np.float32 and img.ndim == 3 and img.shape[2] == 3
    assert img.flags["C_CONTIGUOUS"]
    assert img.shape[0] >= 1 and img.shape[1] >= 1
    assert np.isfinite(img).all() and img.min() >= 0.0 and img.max() <= 1.0
    if shape is not None:
        assert img.shape[:2] == shape


# --------------------------------------------------------------------------------------
# Files that are not (usable) images
# --------------------------------------------------------------------------------------


def test_missing_file(tmp_path):
    path = tmp_path / "photo.jpg"
    msg = painter_error(load_image, path)
    assert str(path) in msg and "does not exist" in msg and "check the path" in msg


def test_directory_instead_of_file(tmp_path):
    msg = painter_error(load_image, str(tmp_path))
    assert str(tmp_path) in msg and "folder" in msg and "choose an image file" in msg


def test_text_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("shopping list: eggs, flour\n")
    msg = painter_error(load_image, path)
    assert "notes.txt is not an image Pillow can read" in msg
    assert "use a PNG, JPEG, TIFF, WebP or BMP file" in msg


def test_empty_file(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    msg = painter_error(load_image, path)
    assert "empty.png is empty" in msg and "re-export or re-download" in msg


@pytest.mark.parametrize("fmt,suffix", [("JPEG", ".jpg"), ("PNG", ".png")])
def test_truncated_file(tmp_path, fmt, suffix):
    whole = tmp_path / f"whole{suffix}"
    noise_image(256, 256).save(whole, fmt)
    data = whole.read_bytes()
    cut = tmp_path / f"photo{suffix}"
    cut.write_bytes(data[: len(data) // 2])
    load_image(whole)  # the intact file is fine
    msg = painter_error(load_image, cut)
    assert f"photo{suffix} is truncated or corrupt (" in msg and "re-export or re-download it" in msg


def test_image_with_damaged_header(tmp_path):
    path = tmp_path / "photo.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 8)
    msg = painter_error(load_image, path)
    assert "photo.png is truncated or corrupt" in msg


def test_zero_width_png_header_is_rejected(tmp_path):
    path = tmp_path / "zero.png"
    png_header_only(path, 0, 10)
    assert "zero.png" in painter_error(load_image, path)


def test_zero_sized_pil_image_is_rejected():
    msg = painter_error(load_image, Image.new("RGB", (0, 5)))
    assert "no pixels" in msg and "0x5" in msg


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can read anything")
def test_unreadable_file(tmp_path):
    path = tmp_path / "secret.png"
    Image.new("RGB", (2, 2)).save(path)
    path.chmod(0)
    try:
        msg = painter_error(load_image, path)
    finally:
        path.chmod(0o644)
    assert "secret.png cannot be read" in msg and "permission" in msg


def test_permission_error_on_read_is_explained(tmp_path, monkeypatch):
    # Runs even as root (where chmod does not stop reads): simulate the OS refusing.
    path = tmp_path / "secret.png"
    Image.new("RGB", (2, 2)).save(path)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(image_io, "open", refuse, raising=False)
    msg = painter_error(load_image, path)
    assert "secret.png cannot be read (Permission denied)" in msg and "permissions" in msg


# --------------------------------------------------------------------------------------
# Colour modes
# --------------------------------------------------------------------------------------


def test_16bit_png_is_scaled_to_unit_range(tmp_path):
    values = np.array([[0, 32768, 65535], [1000, 50000, 65535]], dtype=np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(values).save(path)
    assert Image.open(path).mode in ("I;16", "I")  # really a 16-bit file
    img = load_image(path)
    check_canonical(img, (2, 3))
    expected = values.astype(np.float64) / 65535.0
    for c in range(3):
        np.testing.assert_allclose(img[:, :, c], expected, atol=1e-6)
    assert img[0, 2, 0] == 1.0 and abs(img[0, 1, 0] - 0.5) < 1e-4


def test_mode_I_image_is_treated_as_16_bit():
    picture = Image.fromarray(np.array([[0, 32768, 65535]], dtype=np.int32))
    assert picture.mode == "I"
    img = load_image(picture)
    np.testing.assert_allclose(img[0, :, 1], [0.0, 32768 / 65535, 1.0], atol=1e-6)


def test_16bit_png_downscaled_in_float(tmp_path):
    values = np.zeros((4, 8), dtype=np.uint16)
    values[:, 1::2] = 65535  # alternating columns average to exactly one half
    path = tmp_path / "deep.png"
    Image.fromarray(values).save(path)
    img = load_image(path, max_side=4)
    check_canonical(img, (2, 4))
    np.testing.assert_allclose(img, 0.5, atol=1e-6)


def test_grayscale_gives_three_equal_channels(tmp_path):
    path = tmp_path / "grey.png"
    Image.fromarray(np.array([[0, 128, 255]], dtype=np.uint8)).save(path)
    assert Image.open(path).mode == "L"
    img = load_image(path)
    check_canonical(img, (1, 3))
    for c in range(3):
        np.testing.assert_allclose(img[0, :, c], [0.0, 128 / 255, 1.0], atol=1e-6)


def test_bilevel_mode_1():
    picture = Image.new("1", (2, 1))
    picture.putpixel((1, 0), 1)
    np.testing.assert_allclose(load_image(picture)[0], [[0, 0, 0], [1, 1, 1]])


@pytest.mark.parametrize("background", [(1.0, 1.0, 1.0), (0.0, 0.0, 0.0)])
def test_la_composited(tmp_path, background):
    path = tmp_path / "la.png"
    Image.fromarray(np.array([[[200, 128], [50, 255]]], dtype=np.uint8)).save(path)
    assert Image.open(path).mode == "LA"
    img = load_image(path, background=background)
    a = 128 / 255
    grey = 200 / 255 * a + background[0] * (1 - a)
    np.testing.assert_allclose(img[0, 0], [grey] * 3, atol=1e-6)
    np.testing.assert_allclose(img[0, 1], [50 / 255] * 3, atol=1e-6)


def test_palette_without_transparency(tmp_path):
    picture = Image.new("P", (3, 1))
    picture.putpalette([255, 0, 0, 0, 0, 255, 10, 20, 30] + [0] * (253 * 3))
    picture.putdata([0, 1, 2])
    path = tmp_path / "palette.png"
    picture.save(path)
    img = load_image(path, background=(0.0, 0.0, 0.0))
    np.testing.assert_allclose(img[0] * 255, [RED, BLUE, (10, 20, 30)], atol=1e-4)


@pytest.mark.parametrize("background", [(1.0, 1.0, 1.0), (0.0, 0.0, 0.0), (0.2, 0.4, 0.6)])
def test_palette_with_transparency(tmp_path, background):
    picture = Image.new("P", (3, 1))
    picture.putpalette([255, 0, 0, 0, 0, 255, 0, 255, 0] + [0] * (253 * 3))
    picture.putdata([0, 1, 2])
    path = tmp_path / "palette.png"
    # index 0 opaque, index 1 fully transparent, index 2 half transparent (tRNS alphas)
    picture.save(path, transparency=bytes([255, 0, 128]))
    img = load_image(path, background=background)
    bg = np.array(background)
    a = 128 / 255
    np.testing.assert_allclose(img[0, 0], [1, 0, 0], atol=1e-6)
    np.testing.assert_allclose(img[0, 1], bg, atol=1e-6)
    np.testing.assert_allclose(img[0, 2], np.array([0, 1, 0]) * a + bg * (1 - a), atol=1e-6)


def test_gif_palette_single_transparent_index(tmp_path):
    picture = Image.new("P", (2, 1))
    picture.putpalette([255, 0, 0, 0, 255, 0] + [0] * (254 * 3))
    picture.putdata([0, 1])
    path = tmp_path / "anim.gif"
    picture.save(path, transparency=1)
    img = load_image(path, background=(0.0, 0.0, 1.0))
    np.testing.assert_allclose(img[0], [[1, 0, 0], [0, 0, 1]], atol=1e-6)


def test_rgba_half_transparent_red_over_white_and_black(tmp_path):
    path = tmp_path / "red.png"
    Image.new("RGBA", (2, 2), (255, 0, 0, 128)).save(path)
    a = 128 / 255  # 0.50196...
    over_white = load_image(path)
    over_black = load_image(path, background=(0.0, 0.0, 0.0))
    check_canonical(over_white, (2, 2))
    np.testing.assert_allclose(over_white, np.broadcast_to([1.0, 1 - a, 1 - a], (2, 2, 3)), atol=1e-6)
    np.testing.assert_allclose(over_black, np.broadcast_to([a, 0.0, 0.0], (2, 2, 3)), atol=1e-6)
    np.testing.assert_allclose(over_white[0, 0], [1.0, 0.498, 0.498], atol=1e-3)
    np.testing.assert_allclose(over_black[0, 0], [0.502, 0.0, 0.0], atol=1e-3)


def test_rgba_custom_background_and_fully_transparent(tmp_path):
    pixels = np.array([[[0, 255, 0, 0], [0, 0, 255, 255]]], dtype=np.uint8)
    path = tmp_path / "mix.png"
    Image.fromarray(pixels).save(path)
    img = load_image(path, background=(0.2, 0.4, 0.6))
    np.testing.assert_allclose(img[0], [[0.2, 0.4, 0.6], [0, 0, 1]], atol=1e-6)


def test_rgba_downscale_does_not_leak_colour_of_transparent_pixels(tmp_path):
    # Opaque red and fully transparent *green* columns: averaging must weight colour by alpha,
    # so the result is red at half coverage over white, with no green at all.
    pixels = np.zeros((2, 4, 4), dtype=np.uint8)
    pixels[:, 0::2] = (255, 0, 0, 255)
    pixels[:, 1::2] = (0, 255, 0, 0)
    path = tmp_path / "stripes.png"
    Image.fromarray(pixels).save(path)
    img = load_image(path, max_side=2)  # 8-bit reduce path
    check_canonical(img, (1, 2))
    np.testing.assert_allclose(img[0], [[1.0, 0.5, 0.5]] * 2, atol=0.01)
    float_path = load_image(pixels.astype(np.float32) / 255, max_side=2)  # float path
    np.testing.assert_allclose(float_path[0], [[1.0, 0.5, 0.5]] * 2, atol=1e-6)


def test_rgb_with_trns_colour_key(tmp_path):
    path = tmp_path / "key.png"
    Image.fromarray(np.array([[[10, 20, 30], [40, 50, 60]]], dtype=np.uint8)).save(path, transparency=(10, 20, 30))
    img = load_image(path, background=(0.0, 1.0, 0.0))
    np.testing.assert_allclose(img[0], [[0, 1, 0], [40 / 255, 50 / 255, 60 / 255]], atol=1e-6)


def test_cmyk_jpeg(tmp_path):
    picture = Image.new("CMYK", (32, 32), (255, 0, 0, 0))  # left: pure cyan
    picture.paste((0, 255, 255, 0), (16, 0, 32, 32))  # right: magenta + yellow = red
    path = tmp_path / "print.jpg"
    picture.save(path, "JPEG", quality=95)
    assert Image.open(path).mode == "CMYK"
    img = load_image(path)
    check_canonical(img, (32, 32))
    np.testing.assert_allclose(img[4:28, 2:12].reshape(-1, 3).mean(axis=0), [0, 1, 1], atol=0.03)
    np.testing.assert_allclose(img[4:28, 20:30].reshape(-1, 3).mean(axis=0), [1, 0, 0], atol=0.03)


# --------------------------------------------------------------------------------------
# EXIF orientation
# --------------------------------------------------------------------------------------


def _with_orientation(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif


@pytest.mark.parametrize(
    "orientation,green_corner",
    [(6, (slice(0, 16), slice(16, 32))), (8, (slice(48, 64), slice(0, 16)))],
)
def test_exif_rotated_jpeg(tmp_path, orientation, green_corner):
    # Stored 64 wide x 32 high, red with a green block in the stored top-left corner.
    picture = Image.new("RGB", (64, 32), RED)
    picture.paste(GREEN, (0, 0, 16, 16))
    path = tmp_path / "phone.jpg"
    picture.save(path, "JPEG", quality=95, exif=_with_orientation(orientation))
    img = load_image(path)
    check_canonical(img, (64, 32))  # displayed upright: 32 wide x 64 high
    # 6 = rotate 90 deg clockwise: stored top-left -> displayed top-right.
    # 8 = rotate 90 deg counter-clockwise: stored top-left -> displayed bottom-left.
    corner = img[green_corner][3:-3, 3:-3].reshape(-1, 3).mean(axis=0)
    np.testing.assert_allclose(corner, [0, 1, 0], atol=0.05)
    for other in [(slice(0, 16), slice(0, 16)), (slice(48, 64), slice(16, 32))]:
        if other != green_corner:
            np.testing.assert_allclose(img[other][3:-3, 3:-3].reshape(-1, 3).mean(axis=0), [1, 0, 0], atol=0.05)
    reference = np.asarray(ImageOps.exif_transpose(Image.open(path)), dtype=np.float32) / 255
    np.testing.assert_allclose(img, reference, atol=1e-6)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_all_exif_orientations_match_pillow(tmp_path, orientation):
    picture = Image.fromarray(np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3) * 10)
    path = tmp_path / "o.png"
    picture.save(path, exif=_with_orientation(orientation))
    reference = np.asarray(ImageOps.exif_transpose(Image.open(path)), dtype=np.float32) / 255
    np.testing.assert_allclose(load_image(path), reference, atol=1e-6)
    assert load_image(path).shape == ((3, 2, 3) if orientation >= 5 else (2, 3, 3))


def test_exif_rotation_with_downscale(tmp_path):
    path = tmp_path / "phone.jpg"
    Image.new("RGB", (400, 200), BLUE).save(path, "JPEG", exif=_with_orientation(6))
    img = load_image(path, max_side=100)
    check_canonical(img, (100, 50))
    np.testing.assert_allclose(img.mean(axis=(0, 1)), [0, 0, 1], atol=0.02)


# --------------------------------------------------------------------------------------
# Sizes
# --------------------------------------------------------------------------------------


def test_one_pixel_image(tmp_path):
    path = tmp_path / "dot.png"
    Image.new("RGB", (1, 1), (10, 20, 30)).save(path)
    for max_side in (1, 4096, None):
        img = load_image(path, max_side=max_side)
        check_canonical(img, (1, 1))
        np.testing.assert_allclose(img[0, 0] * 255, [10, 20, 30], atol=1e-4)
    check_canonical(load_image(np.array([[0.5]])), (1, 1))


def test_downscale_keeps_aspect_and_long_side(tmp_path):
    path = tmp_path / "wide.png"
    noise_image(300, 120).save(path)
    img = load_image(path, max_side=100)
    check_canonical(img, (40, 100))
    assert load_image(path, max_side=None).shape == (120, 300, 3)
    assert load_image(path, max_side=300).shape == (120, 300, 3)  # never enlarged


def test_thin_strip_never_reaches_zero_height(tmp_path):
    path = tmp_path / "strip.png"
    Image.new("RGB", (5000, 2), (0, 0, 255)).save(path)
    img = load_image(path, max_side=100)
    check_canonical(img, (1, 100))
    np.testing.assert_allclose(img[0, 50], [0, 0, 1], atol=1e-6)
    check_canonical(load_image(np.ones((5000, 1)), max_side=10), (10, 1))
    assert resize_long_side(np.ones((3, 10000, 3), np.float32), 10).shape == (1, 10, 3)


def test_pixel_cap_is_checked_from_the_header(tmp_path):
    path = tmp_path / "huge.png"
    png_header_only(path, 40000, 40000)  # 1.6e9 pixels; decoding would need 6.4 GB
    assert 40000 * 40000 > MAX_PIXELS
    pillow_limit = Image.MAX_IMAGE_PIXELS
    for max_side in (4096, None):  # a PNG cannot be decoded at reduced size
        msg = painter_error(load_image, path, max_side=max_side)
        assert "huge.png is too large" in msg and "40000x40000" in msg and "downscale it first" in msg
    assert Image.MAX_IMAGE_PIXELS == pillow_limit  # the global we touch is restored


def test_pixel_cap_counts_pixels_after_jpeg_draft(tmp_path, monkeypatch):
    path_jpg, path_png = tmp_path / "a.jpg", tmp_path / "a.png"
    Image.new("RGB", (64, 64), GREEN).save(path_jpg, quality=95)
    Image.new("RGB", (64, 64), GREEN).save(path_png)
    monkeypatch.setattr(image_io, "MAX_PIXELS", 1000)  # 64x64 = 4096 pixels is "too large" now
    assert "too large" in painter_error(load_image, path_png, max_side=16)
    assert "too large" in painter_error(load_image, path_jpg, max_side=None)
    img = load_image(path_jpg, max_side=16)  # decoded at 1/4 scale: 256 pixels
    check_canonical(img, (16, 16))
    np.testing.assert_allclose(img.mean(axis=(0, 1)), [0, 1, 0], atol=0.02)


def test_jpeg_is_decoded_at_reduced_scale(tmp_path, monkeypatch):
    path = tmp_path / "scan.jpg"
    write_quadrant_jpeg(path, 2048, 1024)
    decoded_sizes = []
    original_load = JpegImagePlugin.JpegImageFile.load

    def spy(self):
        decoded_sizes.append(self.size)
        return original_load(self)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "load", spy)
    img = load_image(path, max_side=256)
    assert decoded_sizes and decoded_sizes[0] == (256, 128)  # 1/8 scale inside libjpeg
    check_canonical(img, (128, 256))
    for (y, x), colour in zip([(30, 60), (30, 190), (100, 60), (100, 190)], QUADRANTS):
        np.testing.assert_allclose(img[y, x] * 255, colour, atol=6)


def test_callers_pil_image_is_not_drafted(tmp_path):
    path = tmp_path / "photo.jpg"
    Image.new("RGB", (256, 128), RED).save(path)
    picture = Image.open(path)
    img = load_image(picture, max_side=32)
    check_canonical(img, (16, 32))
    assert picture.size == (256, 128) and picture.mode == "RGB"


@pytest.fixture(scope="module")
def huge_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("huge")
    png, jpg = folder / "huge.png", folder / "huge.jpg"
    start = time.perf_counter()
    write_quadrant_png(png, 20000)
    write_quadrant_jpeg(jpg, 20000, 20000)
    elapsed = time.perf_counter() - start
    assert elapsed < 10.0, f"making the 20000 px test files took {elapsed:.1f} s"
    assert png.stat().st_size < 20e6 and jpg.stat().st_size < 20e6
    return png, jpg


_MEASURE = r"""
import json, resource, sys
from core.io.image_io import load_image

def peak_bytes():
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024

result = {"base": peak_bytes()}
for key, path in (("jpeg", sys.argv[1]), ("png", sys.argv[2])):  # smaller peak first
    img = load_image(path, max_side=4096)
    probes = [(0, 0), (0, -1), (-1, 0), (-1, -1), (1024, 1024), (2047, 2047), (2048, 2048), (1024, 3000)]
    result[key] = {
        "peak": peak_bytes(),
        "shape": list(img.shape),
        "dtype": str(img.dtype),
        "pixels": [img[y, x].tolist() for y, x in probes],
    }
    del img
print(json.dumps(result))
"""


def test_huge_images_load_downscaled_with_bounded_memory(huge_files):
    pytest.importorskip("resource")
    png, jpg = huge_files
    with pytest.raises(Image.DecompressionBombError):
        Image.open(png)  # Pillow alone refuses these at its default limit
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    run = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(jpg), str(png)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    gib = 1024**3
    # Decoding the PNG needs its full 1.6 GB (Pillow keeps RGB at 4 bytes a pixel), nothing more.
    assert result["png"]["peak"] < 2.5 * gib, result
    # draft() decodes the JPEG at 1/4 scale: a full decode alone would add 1.6 GB.
    assert result["jpeg"]["peak"] - result["base"] < 0.8 * gib, result

    expected = [RED, GREEN, BLUE, WHITE, RED, RED, WHITE, GREEN]
    for key, tolerance in (("png", 1e-6), ("jpeg", 3 / 255)):
        entry = result[key]
        assert entry["shape"] == [4096, 4096, 3] and entry["dtype"] == "float32"
        for i, (got, colour) in enumerate(zip(entry["pixels"], expected)):
            if key == "jpeg" and i in (5, 6):
                continue  # right at the quadrant edge, which JPEG's chroma subsampling blurs
            np.testing.assert_allclose(got, np.array(colour) / 255, atol=tolerance, err_msg=f"{key} probe {i}")


# --------------------------------------------------------------------------------------
# numpy arrays (what the Blender add-on passes)
# --------------------------------------------------------------------------------------


def test_uint8_array():
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    img = load_image(pixels)
    check_canonical(img, (5, 7))
    np.testing.assert_allclose(img, pixels / 255.0, atol=1e-7)


def test_uint16_array():
    pixels = np.array([[[0, 32768, 65535]]], dtype=np.uint16)
    np.testing.assert_allclose(load_image(pixels)[0, 0], [0, 32768 / 65535, 1], atol=1e-7)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_float_array(dtype):
    pixels = np.array([[[0.0, 0.25, 1.0], [0.5, 0.75, 0.125]]], dtype=dtype)
    img = load_image(pixels)
    check_canonical(img, (1, 2))
    np.testing.assert_allclose(img, pixels.astype(np.float64), atol=1e-7)


def test_hxw_and_single_channel_arrays():
    grey = np.array([[0.0, 0.5], [1.0, 0.25]])
    for arr in (grey, grey[:, :, None]):
        img = load_image(arr)
        check_canonical(img, (2, 2))
        for c in range(3):
            np.testing.assert_allclose(img[:, :, c], grey, atol=1e-7)


def test_rgba_and_grey_alpha_arrays():
    rgba = np.array([[[1.0, 0.0, 0.0, 0.5]]], dtype=np.float32)
    np.testing.assert_allclose(load_image(rgba, background=(0.0, 0.0, 0.0))[0, 0], [0.5, 0, 0], atol=1e-7)
    np.testing.assert_allclose(load_image(rgba)[0, 0], [1.0, 0.5, 0.5], atol=1e-7)
    grey_alpha = np.array([[[0.4, 0.5]]], dtype=np.float32)
    np.testing.assert_allclose(load_image(grey_alpha, background=(0.0, 0.0, 1.0))[0, 0], [0.2, 0.2, 0.7], atol=1e-7)
    rgba8 = np.array([[[255, 0, 0, 128]]], dtype=np.uint8)
    np.testing.assert_allclose(load_image(rgba8)[0, 0], [1.0, 1 - 128 / 255, 1 - 128 / 255], atol=1e-6)


def test_bool_array():
    np.testing.assert_allclose(load_image(np.array([[True, False]]))[0], [[1, 1, 1], [0, 0, 0]])


def test_non_contiguous_array_gives_contiguous_copy():
    base = np.random.default_rng(2).random((6, 4, 3)).astype(np.float32)
    flipped = base[::-1]  # how the add-on turns Blender's bottom-up rows around
    img = load_image(flipped)
    check_canonical(img, (6, 4))
    np.testing.assert_array_equal(img, flipped)
    img[0, 0, 0] = -1.0
    assert base[-1, 0, 0] != -1.0  # never a view of the caller's data


def test_nan_and_inf_are_cleaned():
    pixels = np.array([[[np.nan, np.inf, -np.inf], [2.0, -1.0, 0.25]]], dtype=np.float32)
    original = pixels.copy()
    img = load_image(pixels)
    check_canonical(img, (1, 2))
    np.testing.assert_array_equal(img[0], [[0.0, 1.0, 0.0], [1.0, 0.0, 0.25]])
    np.testing.assert_array_equal(pixels, original)  # caller's array untouched (NaN and all)
    nan_alpha = np.array([[[1.0, 0.0, 0.0, np.nan]]])
    np.testing.assert_array_equal(load_image(nan_alpha, background=(0.0, 0.0, 1.0))[0, 0], [0, 0, 1])


def test_array_downscaled_with_area_average():
    pixels = np.zeros((20, 40, 3), dtype=np.float32)
    pixels[:, 1::2] = 1.0
    img = load_image(pixels, max_side=10)
    check_canonical(img, (5, 10))
    np.testing.assert_allclose(img, 0.5, atol=1e-6)


def test_pil_image_source():
    picture = Image.new("RGBA", (3, 2), (0, 0, 255, 255))
    img = load_image(picture)
    check_canonical(img, (2, 3))
    np.testing.assert_allclose(img, np.broadcast_to([0, 0, 1], (2, 3, 3)))


@pytest.mark.parametrize(
    "bad,words",
    [
        (np.zeros((0, 5, 3), np.float32), "empty"),
        (np.zeros((5, 0), np.uint8), "empty"),
        (np.zeros((4, 4, 5), np.float32), "shape"),
        (np.zeros((2, 2, 2, 3), np.float32), "shape"),
        (np.zeros((4, 4, 3), np.int64), "dtype int64"),
        (np.zeros((4, 4, 3), np.complex64), "dtype complex64"),
        ([[0.0, 1.0]], "list"),
    ],
)
def test_bad_array_sources(bad, words):
    assert words in painter_error(load_image, bad)


@pytest.mark.parametrize("max_side", [0, -5, 2.5, True, "4096"])
def test_bad_max_side(max_side):
    assert "max_side" in painter_error(load_image, np.zeros((2, 2, 3)), max_side=max_side)


@pytest.mark.parametrize("background", [(1.0, 1.0), (2.0, 0.0, 0.0), (float("nan"), 0, 0), "white"])
def test_bad_background(background):
    assert "background" in painter_error(load_image, np.zeros((2, 2, 3)), background=background)


# --------------------------------------------------------------------------------------
# resize_long_side
# --------------------------------------------------------------------------------------


def test_resize_exact_area_weights():
    # 3 -> 2 pixels: each output covers 1.5 inputs, the middle one split between them.
    row = np.array([[0.0, 0.5, 1.0]], dtype=np.float32)
    out = resize_long_side(row, 2)
    np.testing.assert_allclose(out, [[(0 + 0.5 * 0.5) / 1.5, (0.5 * 0.5 + 1.0) / 1.5]], atol=1e-6)
    blocks = np.arange(16, dtype=np.float32).reshape(4, 4) / 16
    np.testing.assert_allclose(resize_long_side(blocks, 2), blocks.reshape(2, 2, 2, 2).mean(axis=(1, 3)), atol=1e-6)


def test_resize_preserves_mean_constant_and_shape():
    rng = np.random.default_rng(3)
    img = rng.random((37, 53, 3)).astype(np.float32)
    out = resize_long_side(img, 11)
    assert out.shape == (8, 11, 3) and out.dtype == np.float32 and out.flags["C_CONTIGUOUS"]
    # Exact area averaging: every input pixel contributes its whole area exactly once, so the
    # mean is unchanged even for non-integer factors (53 -> 11 and 37 -> 8 here).
    np.testing.assert_allclose(out.mean(axis=(0, 1)), img.mean(axis=(0, 1)), atol=1e-6)
    np.testing.assert_allclose(resize_long_side(np.full((30, 20, 3), 0.3, np.float32), 7), 0.3, atol=1e-6)
    assert resize_long_side(np.zeros((200, 300, 3), np.float32), 150).shape == (100, 150, 3)
    assert resize_long_side(np.zeros((300, 200), np.float32), 150).shape == (150, 100)
    assert resize_long_side(np.zeros((5, 5, 3), np.float32), 5).shape == (5, 5, 3)


def test_resize_integer_factor_matches_block_mean_exactly_in_2d():
    rng = np.random.default_rng(4)
    img = rng.random((60, 90, 3)).astype(np.float32)
    expected = img.reshape(20, 3, 30, 3, 3).mean(axis=(1, 3))
    np.testing.assert_allclose(resize_long_side(img, 30), expected, atol=1e-6)


def test_resize_upscale_is_linear_and_bounded():
    out = resize_long_side(np.array([[0.0, 1.0]], dtype=np.float32), 4)
    assert out.shape == (2, 4)  # 1x2 -> long side 4: the short side doubles too
    np.testing.assert_allclose(out, [[0.0, 0.25, 0.75, 1.0]] * 2, atol=1e-6)
    rng = np.random.default_rng(5)
    img = rng.random((7, 5, 3)).astype(np.float32)
    up = resize_long_side(img, 40)
    assert up.shape == (40, 29, 3) and up.min() >= img.min() - 1e-6 and up.max() <= img.max() + 1e-6


def test_resize_errors():
    assert "long_side" in painter_error(resize_long_side, np.zeros((4, 4, 3), np.float32), 0)
    assert "long_side" in painter_error(resize_long_side, np.zeros((4, 4, 3), np.float32), 2.0)
    assert "shape" in painter_error(resize_long_side, np.zeros((0, 4, 3), np.float32), 2)
    assert "dtype uint8" in painter_error(resize_long_side, np.zeros((4, 4, 3), np.uint8), 2)
    assert "numpy array" in painter_error(resize_long_side, [[0.0]], 2)


def test_resize_is_fast_enough():
    img = np.random.default_rng(6).random((2000, 3000, 3)).astype(np.float32)
    start = time.perf_counter()
    out = resize_long_side(img, 1024)
    assert out.shape == (683, 1024, 3)
    assert time.perf_counter() - start < 5.0


# --------------------------------------------------------------------------------------
# save_png
# --------------------------------------------------------------------------------------


def test_save_png_round_trip(tmp_path):
    levels = np.arange(256, dtype=np.float32) / 255
    img = np.stack([levels, levels[::-1], np.full(256, 0.5, np.float32)], axis=1).reshape(16, 16, 3)
    path = tmp_path / "out.png"
    save_png(img, path)
    with Image.open(path) as saved:
        assert saved.format == "PNG" and saved.mode == "RGB" and saved.size == (16, 16)
        pixels = np.asarray(saved)
    np.testing.assert_array_equal(pixels[..., 0].reshape(-1), np.arange(256))
    np.testing.assert_array_equal(pixels[..., 1].reshape(-1), np.arange(256)[::-1])
    assert (pixels[..., 2] == 128).all()  # 127.5 rounds up
    np.testing.assert_allclose(load_image(str(path)), img, atol=0.5 / 255 + 1e-6)


def test_save_png_cleans_values_and_accepts_grey(tmp_path):
    path = tmp_path / "odd.png"
    save_png(np.array([[[np.nan, 2.0, -1.0]]], dtype=np.float32), path)
    np.testing.assert_array_equal(np.asarray(Image.open(path))[0, 0], [0, 255, 0])
    grey = tmp_path / "grey.png"
    save_png(np.array([[0.0, 1.0]]), grey)
    with Image.open(grey) as saved:
        assert saved.mode == "L"
        np.testing.assert_array_equal(np.asarray(saved), [[0, 255]])


def test_save_png_unwritable_paths(tmp_path):
    img = np.zeros((2, 2, 3), np.float32)
    missing = tmp_path / "no_such_folder" / "out.png"
    msg = painter_error(save_png, img, missing)
    assert str(missing) in msg and "does not exist" in msg and "choose a writable location" in msg
    msg = painter_error(save_png, img, tmp_path)
    assert str(tmp_path) in msg and "folder" in msg and "choose a writable location" in msg
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    msg = painter_error(save_png, img, blocker / "out.png")
    assert "not a folder" in msg and "choose a writable location" in msg
    assert not missing.parent.exists()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can write anywhere")
def test_save_png_read_only_folder(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        msg = painter_error(save_png, np.zeros((2, 2, 3), np.float32), folder / "out.png")
    finally:
        folder.chmod(0o700)
    assert str(folder / "out.png") in msg and "choose a writable location" in msg


def test_save_png_os_refusal_is_explained(tmp_path, monkeypatch):
    # Runs even as root: simulate a read-only location or a full disk at write time.
    def refuse(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Image.Image, "save", refuse)
    target = tmp_path / "out.png"
    msg = painter_error(save_png, np.zeros((2, 2, 3), np.float32), target)
    assert msg == f"cannot write {target} (Permission denied); choose a writable location"


def test_save_png_rejects_bad_arrays(tmp_path):
    assert "dtype uint8" in painter_error(save_png, np.zeros((2, 2, 3), np.uint8), tmp_path / "a.png")
    assert "channels" in painter_error(save_png, np.zeros((2, 2, 5), np.float32), tmp_path / "a.png")
    assert "shape" in painter_error(save_png, np.zeros((0, 2, 3), np.float32), tmp_path / "a.png")
