"""Image files beyond 8-bit upright PNGs: 16-bit and 32-bit gray, EXIF orientation, decompression bombs."""

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from idealfit.data.images import load_image_folder, open_image
from idealfit.errors import UserError


def _png16(path, value, side=6):
    Image.fromarray(np.full((side, side), value, dtype=np.uint16)).save(path)  # mode I;16, 16-bit PNG


def test_16bit_png_is_scaled_by_65535_not_clipped(tmp_path):
    for name, value in (("dim", 1000), ("bright", 30000)):
        (tmp_path / name).mkdir()
        for i in range(2):
            _png16(tmp_path / name / f"{i}.png", value + i)
    with Image.open(tmp_path / "dim" / "0.png") as im:
        assert im.mode in ("I;16", "I")  # really a 16-bit file
    ds = load_image_folder(tmp_path, image_size=None, channels=None, max_memory_mb=100)
    assert ds.x.shape == (4, 1, 6, 6) and ds.class_names == ["bright", "dim"]
    np.testing.assert_allclose(ds.x[ds.y == 1, 0, 0, 0], [1000 / 65535, 1001 / 65535], rtol=1e-6)
    np.testing.assert_allclose(ds.x[ds.y == 0, 0, 0, 0], [30000 / 65535, 30001 / 65535], rtol=1e-6)


def test_32bit_integer_gray_within_16_bits_is_scaled_and_beyond_is_refused(tmp_path):
    Image.fromarray(np.full((4, 4), 32768, dtype=np.int32)).save(tmp_path / "i.tif")
    np.testing.assert_allclose(open_image(tmp_path / "i.tif", size=4, channels=3), 32768 / 65535, rtol=1e-6)
    Image.fromarray(np.full((4, 4), 70000, dtype=np.int32)).save(tmp_path / "big.tif")
    with pytest.raises(UserError, match="big.tif is a I-mode image with values in \\[70000, 70000\\]"):
        open_image(tmp_path / "big.tif", size=4, channels=1)


def test_exif_orientation_is_applied(tmp_path):
    pixels = np.zeros((4, 4), np.uint8)
    pixels[:, :2] = 255  # left half white
    im = Image.fromarray(pixels)
    exif = im.getexif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    im.save(tmp_path / "phone.png", exif=exif)
    got = open_image(tmp_path / "phone.png", size=4, channels=1)[0]
    np.testing.assert_array_equal(got, np.rot90(pixels, k=-1) / 255.0)  # the white half is now on top
    assert got[0].tolist() == [1.0] * 4


def _png_header(path, width, height):
    """A PNG whose header claims width × height 8-bit gray pixels (its data is a single empty row)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0"))
                     + chunk(b"IEND", b""))


@pytest.mark.parametrize("side", [65535, int((1.5 * Image.MAX_IMAGE_PIXELS) ** 0.5)])
def test_decompression_bombs_are_refused_without_decoding(tmp_path, side):
    # 65535² is over twice PIL's limit (its DecompressionBombError); 1.5× only warns in PIL: refused too
    path = tmp_path / "bomb.png"
    _png_header(path, side, side)
    with pytest.raises(UserError, match="bomb.png claims more than .* pixels.*resize the image or remove it"):
        open_image(path, size=8, channels=1)
    for c in ("a", "b"):
        (tmp_path / "folder" / c).mkdir(parents=True)
        for i in range(2):
            Image.new("L", (4, 4), 9).save(tmp_path / "folder" / c / f"{i}.png")
    _png_header(tmp_path / "folder" / "b" / "0.png", side, side)
    with pytest.raises(UserError, match="claims more than"):
        load_image_folder(tmp_path / "folder", image_size=4, channels=1, max_memory_mb=100)
