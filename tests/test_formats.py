"""AVIF, HEIC/HEIF and JPEG XL: read and write with ICC, EXIF and alpha; 10/12-bit HEIF; chosen by suffix or --format."""
from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from PIL import Image, ImageCms

import zoo
from zoo_core.cli import main
from zoo_core.infer.formats import FORMATS, SUFFIX, WRITES
from zoo_core.infer.imageio import read_picture, save_picture
from zoo_core.infer.modes import Picture

RNG = np.random.default_rng(3)
ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
ADDED = ("avif", "heic", "jxl")


def smooth(h: int = 24, w: int = 32, c: int = 3, peak: int = 255) -> np.ndarray:
    """A gradient (lossy codecs keep it close, unlike noise)."""
    y, x = np.mgrid[0:h, 0:w]
    planes = [x * peak // (w - 1), y * peak // (h - 1), (x + y) * peak // (w + h - 2), (w - 1 - x) * peak // (w - 1)]
    return np.dstack(planes[:c]).astype(np.uint16 if peak > 255 else np.uint8)


def exif_bytes() -> bytes:
    ex = Image.Exif()
    ex[0x010F] = "zoo-test-camera"  # Make
    return ex.tobytes()


@pytest.mark.parametrize("ext", ADDED)
def test_round_trip_keeps_alpha_exif_and_icc(tmp_path, ext):
    arr = smooth(c=4)
    arr[:4, :4, 3] = 0  # some transparency
    pic = Picture(pixels=arr, icc=ICC, exif=exif_bytes())
    save_picture(pic, tmp_path / f"x.{ext}", quality=100)
    got = read_picture(tmp_path / f"x.{ext}")
    assert got.pixels.shape == arr.shape and got.pixels.dtype == np.uint8
    assert np.abs(got.pixels.astype(int) - arr).max() <= 8  # lossless or near it at quality 100
    assert got.pixels[0, 0, 3] <= 8 and got.pixels[-1, 0, 3] >= 247
    with Image.open(tmp_path / f"x.{ext}") as im:
        assert got.exif and im.getexif()[0x010F] == "zoo-test-camera"
    if ext != "jxl":  # the JPEG XL plugin writes no profile: pixels are converted to sRGB instead
        assert got.icc == ICC


def test_jxl_converts_a_foreign_profile_to_srgb(tmp_path):
    """Colours stay right in a format whose writer cannot embed the profile (never reinterpreted silently)."""
    adobe = matrix_profile([(0.6097, 0.3111, 0.0195), (0.2053, 0.6257, 0.0609), (0.1492, 0.0632, 0.7446)])
    arr = np.full((8, 8, 3), (200, 30, 40), np.uint8)
    save_picture(Picture(pixels=arr, icc=adobe), tmp_path / "x.jxl", quality=100)
    got = read_picture(tmp_path / "x.jxl")
    want = np.asarray(ImageCms.profileToProfile(Image.fromarray(arr), ImageCms.ImageCmsProfile(io.BytesIO(adobe)),
                                                ImageCms.createProfile("sRGB"), outputMode="RGB"))
    assert got.icc != adobe and np.abs(want.astype(int) - arr).max() > 20  # the profile matters here
    assert np.abs(got.pixels.astype(int) - want).max() <= 2


def _s15(v: float) -> bytes:
    return struct.pack(">i", round(v * 65536))


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ \0\0\0\0" + _s15(x) + _s15(y) + _s15(z)


def matrix_profile(primaries: list[tuple[float, float, float]], gamma: float = 2.2) -> bytes:
    """A minimal ICC v2 RGB matrix/TRC display profile (D50 PCS): a wide-gamut RGB that is not sRGB."""
    curv = b"curv\0\0\0\0" + struct.pack(">IH", 1, round(gamma * 256)) + b"\0\0"
    desc = b"desc\0\0\0\0" + struct.pack(">I", 5) + b"test\0" + b"\0" * 79
    tags = [(b"desc", desc), (b"wtpt", _xyz(0.9642, 1.0, 0.8249))]
    tags += [(n, _xyz(*p)) for n, p in zip((b"rXYZ", b"gXYZ", b"bXYZ"), primaries)]
    tags += [(n, curv) for n in (b"rTRC", b"gTRC", b"bTRC")]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for name, data in tags:
        data += b"\0" * (-len(data) % 4)
        table += name + struct.pack(">II", offset + len(body), len(data))
        body += data
    header = struct.pack(">I", offset + len(body)) + b"none" + bytes([2, 0x10, 0, 0]) + b"mntrRGB XYZ "
    header += b"\0" * 12 + b"acsp"
    header += b"\0" * (68 - len(header)) + _s15(0.9642) + _s15(1.0) + _s15(0.8249)
    return header + b"\0" * (128 - len(header)) + struct.pack(">I", len(tags)) + table + body


@pytest.mark.parametrize("depth", [10, 12])
def test_deep_heif_keeps_its_bits(tmp_path, depth):
    arr = smooth(peak=65535)
    pic = Picture(pixels=arr, icc=ICC, extra={"bit_depth": depth})
    save_picture(pic, tmp_path / "x.heic", quality=100)
    import pillow_heif

    assert pillow_heif.open_heif(tmp_path / "x.heic").info["bit_depth"] == depth
    got = read_picture(tmp_path / "x.heic")
    assert got.pixels.dtype == np.uint16 and got.icc == ICC and got.extra["bit_depth"] == depth
    step = 65535 / ((1 << depth) - 1)
    assert np.abs(got.pixels.astype(int) - arr).max() <= step  # exact but for the depth's quantisation
    assert got.pixels.max() == 65535  # white stays white (not 1023 << 6)
    eight = np.abs(got.pixels.astype(int) - (arr // 257 * 257)).max()
    assert eight > step  # finer than 8 bits: the 8-bit reading would lose this


def test_heif_rotation_is_applied(tmp_path):
    arr = smooth(8, 12)
    ex = Image.Exif()
    ex[0x0112] = 6  # rotate 90° clockwise
    Image.fromarray(arr).save(tmp_path / "r.heic", exif=ex.tobytes(), quality=-1)
    got = read_picture(tmp_path / "r.heic")
    assert got.pixels.shape[:2] == (12, 8)


@pytest.mark.parametrize("name", ["cut.avif", "cut.heic", "cut.jxl"])
def test_cut_files_give_one_line(tmp_path, name):
    full = io.BytesIO()
    Image.fromarray(RNG.integers(0, 256, (40, 50, 3), dtype=np.uint8)).save(full, format=FORMATS[name[4:]], quality=90)
    p = tmp_path / name
    p.write_bytes(full.getvalue()[: len(full.getvalue()) // 2])
    with pytest.raises(zoo.ImageError) as info:
        read_picture(p)
    assert str(info.value).startswith(str(p)) and "\n" not in str(info.value)


@pytest.mark.slow
@pytest.mark.parametrize("how", ["suffix", "format"])
def test_cli_writes_added_formats(tmp_path, how):
    src = tmp_path / "in.png"
    Image.fromarray(smooth(8, 10)).save(src)
    for ext in ADDED:
        if how == "suffix":
            args = ["-o", str(tmp_path / f"out.{ext}")]
            want = tmp_path / f"out.{ext}"
        else:
            args = ["-o", str(tmp_path / f"d{ext}"), "--format", ext]
            want = tmp_path / f"d{ext}" / f"in{SUFFIX[FORMATS[ext]]}"
        assert main(["upscale", str(src), "-m", "example-tiny", "--backend", "torch", "-q", *args]) == 0
        with Image.open(want) as im:
            assert im.format == FORMATS[ext] and im.size == (20, 16)


@pytest.mark.slow
def test_messages_name_every_format(tmp_path, capsys):
    src = tmp_path / "in.png"
    Image.fromarray(smooth(8, 10)).save(src)
    assert main(["upscale", str(src), "-m", "example-tiny", "--backend", "torch", "-q", "-o", str(tmp_path / "x.tga")]) == 1
    err = capsys.readouterr().err
    assert WRITES in err and all(s in err for s in (".gif", ".avif", ".heic", ".jxl"))
    notes = tmp_path / "notes.heic"
    notes.write_bytes(b"plain text\n" * 10)
    assert main(["upscale", str(notes), "-m", "example-tiny", "--backend", "torch", "-q", "-o", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert "HEIC/HEIF" in err and "videos" in err and err.count("\n") == 2


def test_deep_avif_keeps_ten_bits_where_nothing_else_is_lost(tmp_path):
    arr = smooth(48, 64, peak=65535)
    save_picture(Picture(pixels=arr), tmp_path / "x.avif", quality=100)
    import av

    with av.open(str(tmp_path / "x.avif")) as c:
        assert next(c.decode(video=0)).format.name == "yuv420p10le"
    got = read_picture(tmp_path / "x.avif")
    assert got.pixels.dtype == np.uint16 and got.pixels.shape == arr.shape
    assert np.abs(got.pixels.astype(int) - arr).mean() < 65535 * 0.01  # close (4:2:0, lossy)
    assert np.any(got.pixels % 257)  # finer than 8 bits
    with Image.open(tmp_path / "x.avif") as im:  # and any reader sees the right picture
        assert np.abs(np.asarray(im).astype(int) - arr // 257).mean() < 3
    save_picture(Picture(pixels=arr, icc=ICC), tmp_path / "icc.avif")  # the profile matters more: 8 bits, kept
    got = read_picture(tmp_path / "icc.avif")
    assert got.icc == ICC and got.pixels.dtype == np.uint8
