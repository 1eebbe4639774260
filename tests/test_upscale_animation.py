"""Animated GIF, WebP and APNG through `zoo upscale`: every frame, durations, loop and disposal kept."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageSequence

from zoo_core.cli import main

DURATIONS = [100, 200, 300]


def frames(alpha: bool) -> list[Image.Image]:
    out = []
    for i, colour in enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255)]):
        a = np.zeros((6, 8, 4 if alpha else 3), np.uint8)
        a[..., :3] = 40
        a[1:5, 2 + i:5 + i, :3] = colour
        if alpha:
            a[..., 3] = 255
            a[0, :, 3] = 0
        out.append(Image.fromarray(a))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("suffix,fmt", [(".gif", "GIF"), (".webp", "WEBP"), (".png", "PNG")])
def test_every_frame_with_timing_loop_and_disposal(tmp_path, suffix, fmt):
    src = tmp_path / f"anim{suffix}"
    fr = frames(alpha=fmt != "GIF")
    opts = {"save_all": True, "append_images": fr[1:], "duration": DURATIONS, "loop": 3}
    if fmt == "WEBP":
        opts["lossless"] = True
    else:
        opts["disposal"] = 2
    fr[0].save(src, format=fmt, **opts)
    assert main(["upscale", str(src), "-o", str(tmp_path / "out"), "-m", "example-tiny", "-q",
                 "--quality", "100"]) == 0  # WebP quality 100 = lossless
    dst = tmp_path / "out" / f"anim{suffix}"  # animations keep their container
    with Image.open(dst) as im:
        assert im.format == fmt and im.n_frames == 3 and im.size == (16, 12)
        assert im.info.get("loop") == 3
        got = []
        for i, frame in enumerate(ImageSequence.Iterator(im)):
            frame.load()
            if fmt != "WEBP":
                assert int(frame.info["duration"]) == DURATIONS[i]
                assert (getattr(frame, "disposal_method", None) or frame.info.get("disposal")) == 2
            got.append(np.asarray(frame.convert("RGBA")))
    with Image.open(src) as im:
        want = [np.asarray(f.convert("RGBA")).repeat(2, 0).repeat(2, 1) for f in ImageSequence.Iterator(im)]
    for g, w in zip(got, want):  # nearest-neighbour model: every frame is the input frame, enlarged
        assert np.array_equal(g[..., 3] > 0, w[..., 3] > 0)
        visible = w[..., 3] > 0  # hidden colours of transparent pixels are not part of the picture
        assert np.abs(g[visible].astype(int) - w[visible].astype(int)).max() <= 2


@pytest.mark.slow
def test_webp_durations_kept(tmp_path):
    src = tmp_path / "a.webp"
    fr = frames(alpha=False)
    fr[0].save(src, save_all=True, append_images=fr[1:], duration=DURATIONS, loop=0, lossless=True)
    assert main(["upscale", str(src), "-o", str(tmp_path / "o"), "-m", "example-tiny", "-q"]) == 0
    with Image.open(tmp_path / "o" / "a.webp") as im:
        got = []
        for f in ImageSequence.Iterator(im):
            f.load()
            got.append(int(im.info["duration"]))
        assert got == DURATIONS and im.info["loop"] == 0


@pytest.mark.slow
def test_animation_to_jpeg_is_refused_clearly(tmp_path, capsys):
    src = tmp_path / "a.gif"
    fr = frames(alpha=False)
    fr[0].save(src, save_all=True, append_images=fr[1:], duration=DURATIONS)
    assert main(["upscale", str(src), "-o", str(tmp_path / "o"), "-m", "example-tiny", "--format", "jpeg"]) == 1
    assert "JPEG cannot hold an animation here; use --format gif, webp, png or avif" in capsys.readouterr().err
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())
