"""Reading and writing: bad files give one clear ImageError; metadata, 16 bits and orientation survive."""
from __future__ import annotations

import errno
import io
import os

import numpy as np
import png
import pytest
from PIL import Image, ImageCms, ImageOps

import zoo
from zoo_core import atomic
from zoo_core.infer import imageio
from zoo_core.infer.imageio import _orient, read_picture, save_picture
from zoo_core.infer.modes import Picture
from zoo_core.infer.png16 import write_png16

RNG = np.random.default_rng(0)


def encoded(fmt: str, size=(40, 30)) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(RNG.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(buf, format=fmt)
    return buf.getvalue()


@pytest.mark.parametrize("name,data,message", [
    ("empty.png", b"", "empty file"),
    ("text.png", b"just some notes, not pixels\n", "not an image file"),
    ("cut.png", encoded("PNG")[:-200], "truncated or corrupt"),
    ("cut.jpg", encoded("JPEG")[:300], "truncated or corrupt"),
    ("cut.webp", encoded("WEBP")[:60], "not an image file|truncated or corrupt"),
])
def test_bad_files_give_one_clear_error(tmp_path, name, data, message):
    p = tmp_path / name
    p.write_bytes(data)
    with pytest.raises(zoo.ImageError, match=message) as info:
        read_picture(p)
    assert str(info.value).startswith(str(p)) and "\n" not in str(info.value)


def test_wrong_extension_is_read_by_content(tmp_path):
    p = tmp_path / "really-a-jpeg.png"
    p.write_bytes(encoded("JPEG"))
    assert read_picture(p).pixels.shape == (30, 40, 3)


def test_missing_folder_and_unreadable(tmp_path, monkeypatch):
    with pytest.raises(zoo.ImageError, match="no such file"):
        read_picture(tmp_path / "nope.png")
    with pytest.raises(zoo.ImageError, match="is a folder"):
        read_picture(tmp_path)
    p = tmp_path / "locked.png"
    p.write_bytes(encoded("PNG"))

    def denied(*a, **k):
        raise PermissionError(errno.EACCES, "Permission denied")
    monkeypatch.setattr(imageio.Image, "open", denied)  # tests run as root: chmod would not stop us
    with pytest.raises(zoo.ImageError, match="permission denied"):
        read_picture(p)


def test_pixel_limit_stops_decompression_bombs(tmp_path, monkeypatch):
    p = tmp_path / "big.png"
    Image.new("L", (3000, 2000)).save(p)  # 6 MP, a few kB on disk
    with pytest.raises(zoo.ImageError, match=r"3000×2000 is more than the limit of 1,000,000 pixels.*--max-pixels"):
        read_picture(p, limit=1_000_000)
    monkeypatch.setenv("ZOO_MAX_PIXELS", "5e6")
    with pytest.raises(zoo.ImageError, match="5,000,000"):
        read_picture(p)
    monkeypatch.setenv("ZOO_MAX_PIXELS", "lots")
    with pytest.raises(zoo.ImageError, match="ZOO_MAX_PIXELS"):
        read_picture(p)
    monkeypatch.delenv("ZOO_MAX_PIXELS")
    assert read_picture(p).pixels.shape == (2000, 3000, 1)
    assert Image.MAX_IMAGE_PIXELS is not None  # Pillow's own guard is restored afterwards


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_applied(tmp_path, orientation):
    arr = RNG.integers(0, 256, (3, 5, 3), dtype=np.uint8)
    exif = Image.Exif()
    exif[0x0112] = orientation
    p = tmp_path / "o.png"
    Image.fromarray(arr).save(p, exif=exif)
    want = np.asarray(ImageOps.exif_transpose(Image.open(p)))
    assert np.array_equal(read_picture(p).pixels, want)
    assert np.array_equal(_orient(arr, orientation), want)  # the 16-bit path's own transposition


def test_sixteen_bit_png_round_trip_with_icc_and_gamma(tmp_path):
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    for c in (2, 3, 4):
        a = RNG.integers(0, 65536, (7, 9, c), dtype=np.uint16)
        p = tmp_path / f"in{c}.png"
        with open(p, "wb") as f:
            write_png16(f, a, icc=icc, gamma=0.45455)
        with open(p, "rb") as f:  # an independent decoder agrees
            w, h, rows, info = png.Reader(file=f).read_flat()
        assert info["bitdepth"] == 16 and np.array_equal(np.asarray(rows, np.uint16).reshape(7, 9, c), a)
        pic = read_picture(p)
        assert pic.pixels.dtype == np.uint16 and np.array_equal(pic.pixels, a)
        assert pic.icc == icc and abs(pic.gamma - 0.45455) < 1e-5
    grey = Image.fromarray(RNG.integers(0, 65536, (4, 5), dtype=np.uint16))
    grey.save(tmp_path / "g.png")
    pic = read_picture(tmp_path / "g.png")
    assert pic.pixels.dtype == np.uint16
    save_picture(pic, tmp_path / "g2.png")
    with Image.open(tmp_path / "g2.png") as im:
        assert im.mode == "I;16" and np.array_equal(np.asarray(im), np.asarray(grey))


def test_icc_gamma_exif_kept_in_png_jpeg_webp(tmp_path):
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    pic = Picture(pixels=RNG.integers(0, 256, (6, 8, 3), dtype=np.uint8), icc=icc, gamma=0.45455)
    for name in ("a.png", "a.jpg", "a.webp"):
        save_picture(pic, tmp_path / name)
        with Image.open(tmp_path / name) as im:
            assert im.info.get("icc_profile") == icc, name
            if name.endswith(".png"):
                assert abs(im.info["gamma"] - 0.45455) < 1e-5


def test_sixteen_bit_to_jpeg_is_rounded_to_eight_bits(tmp_path):
    pic = Picture(pixels=np.full((4, 4, 3), 257 * 200, np.uint16))
    save_picture(pic, tmp_path / "x.jpg", quality=100)
    with Image.open(tmp_path / "x.jpg") as im:
        assert abs(int(np.asarray(im).astype(int).mean()) - 200) <= 1


def test_transparent_to_jpeg_is_a_clear_error_and_nothing_written(tmp_path):
    pic = Picture(pixels=np.zeros((4, 4, 4), np.uint8))
    with pytest.raises(zoo.ImageError, match="JPEG cannot store transparency; use --format png or webp"):
        save_picture(pic, tmp_path / "x.jpg")
    assert list(tmp_path.iterdir()) == []


def test_full_disk_midway_leaves_no_file(tmp_path, monkeypatch):
    (tmp_path / "x.png").write_bytes(b"old complete output")
    real = Image.Image.save

    def half_then_enospc(self, fp, *a, **k):
        fp.write(b"\x89PNG partial")
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(Image.Image, "save", half_then_enospc)
    pic = Picture(pixels=np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(zoo.ImageError, match=r"write failed \(No space left on device\). The disk is full"):
        save_picture(pic, tmp_path / "x.png")
    monkeypatch.setattr(Image.Image, "save", real)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.png"]
    assert (tmp_path / "x.png").read_bytes() == b"old complete output"  # the old file is untouched


def test_unwritable_folder_and_permissions(tmp_path, monkeypatch):
    pic = Picture(pixels=np.zeros((4, 4, 3), np.uint8))
    save_picture(pic, tmp_path / "ok.png")
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "ok.png").stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600

    def denied(*a, **k):
        raise PermissionError(errno.EACCES, "Permission denied")
    monkeypatch.setattr(atomic.tempfile, "mkstemp", denied)
    with pytest.raises(zoo.ImageError, match=r"cannot write to folder .*Permission denied"):
        save_picture(pic, tmp_path / "no.png")


def test_unknown_output_format(tmp_path):
    with pytest.raises(zoo.ImageError, match="unknown output format 'tga'"):
        save_picture(Picture(pixels=np.zeros((2, 2, 3), np.uint8)), tmp_path / "x.tga")
