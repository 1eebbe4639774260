"""Issue 15: a seeded mutation corpus (cuts and byte flips of PNG/JPEG/GIF/WebP/TIFF/BMP) over the
pre-scan and the decoders. Every damaged file is one ImageError line, never another exception, and the
good file beside it is still processed. ZOO_FUZZ_CASES raises the number of mutants per format (CI)."""
from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from zoo_core.cli import main
from zoo_core.errors import ImageError, ZooError
from zoo_core.infer.animation import read_animation
from zoo_core.infer.imageio import read_picture
from zoo_core.infer.jobs import Item, plan
from zoo_core.infer.png16 import write_png16

CASES = int(os.environ.get("ZOO_FUZZ_CASES", "24"))  # per format and kind of damage: a few seconds in all


def samples() -> dict[str, bytes]:
    """Small valid files of each format, animated ones included."""
    rng = np.random.default_rng(1)
    pic = Image.fromarray(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8))
    frames = [Image.fromarray(rng.integers(0, 256, (10, 10, 3), dtype=np.uint8)) for _ in range(3)]
    out = {}
    for name, fmt, kw in (("png", "PNG", {}), ("jpg", "JPEG", {"quality": 80}), ("tif", "TIFF", {}),
                          ("bmp", "BMP", {}), ("webp", "WEBP", {}),
                          ("gif", "GIF", {"save_all": True, "append_images": frames[1:], "duration": 50}),
                          ("a.webp", "WEBP", {"save_all": True, "append_images": frames[1:], "duration": 50})):
        buf = io.BytesIO()
        (frames[0] if kw.get("save_all") else pic).save(buf, format=fmt, **kw)
        out[name] = buf.getvalue()
    buf = io.BytesIO()  # 16-bit colour PNG: zoo's own reader, not Pillow's
    write_png16(buf, rng.integers(0, 65536, (6, 7, 3), dtype=np.uint16))
    out["16.png"] = buf.getvalue()
    return out


def mutants(data: bytes, seed: int) -> list[bytes]:
    """Cuts anywhere, and one to three flipped bytes (more often in the header, where parsers branch)."""
    rng = np.random.default_rng(seed)
    out = [data[:int(n)] for n in rng.integers(1, len(data), CASES)]
    for _ in range(CASES):
        b = bytearray(data)
        for _ in range(int(rng.integers(1, 4))):
            at = int(rng.integers(0, min(len(b), 96))) if rng.random() < 0.6 else int(rng.integers(0, len(b)))
            b[at] = int(rng.integers(0, 256))
        out.append(bytes(b))
    return out


def decode_like_the_upscale(path: Path) -> None:
    """The pre-scan, then the reader the upscale would use; only ImageError may come out of either."""
    job = plan([Item(path, Path(path.name))], path.parent / "out")[0]
    if getattr(job, "error", None) is not None:  # the pre-scan failed it, with its one line
        return
    try:
        (read_animation if job.animated else read_picture)(path)
    except ImageError:
        pass


@pytest.mark.slow
def test_mutated_files_only_ever_give_image_errors(tmp_path):
    bad: list[str] = []
    for i, (name, data) in enumerate(samples().items()):
        for j, mutant in enumerate(mutants(data, seed=i)):
            path = tmp_path / f"m{i}-{j}.{name}"
            path.write_bytes(mutant)
            try:
                decode_like_the_upscale(path)
            except Exception as exc:  # noqa: BLE001 - collect every escape, report them all
                bad.append(f"{path.name}: {type(exc).__name__}: {exc}")
            path.unlink()
    assert not bad, "\n".join(bad[:20])


def test_mutated_uploads_only_ever_give_image_errors():
    """The web server's decoder (zoo serve) over the same corpus: a damaged upload is a 400, never a 500."""
    from zoo_core.serve.jobs import Limits
    from zoo_core.serve.upload import decode

    bad: list[str] = []
    for i, (name, data) in enumerate(samples().items()):
        for mutant in mutants(data, seed=200 + i):
            try:
                decode(mutant, name, Limits(), 2)
            except ZooError:  # ImageError (400) or TooLarge (413)
                pass
            except Exception as exc:  # noqa: BLE001 - collect every escape, report them all
                bad.append(f"{name}: {type(exc).__name__}: {exc}")
    assert not bad, "\n".join(bad[:20])


@pytest.mark.slow
def test_a_folder_of_mutants_still_processes_the_good_file(tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    Image.new("RGB", (6, 4), (200, 100, 50)).save(src / "good.png")
    for i, (name, data) in enumerate(samples().items()):
        for j, mutant in enumerate(mutants(data, seed=100 + i)[::8]):
            (src / f"m{i}-{j}.{name}").write_bytes(mutant)
    code = main(["upscale", str(src), "-o", str(tmp_path / "out"), "-m", "example-tiny", "-q"])
    err = capsys.readouterr().err
    assert code in (0, 1) and "Traceback" not in err and "please report" not in err, err
    with Image.open(tmp_path / "out" / "good.png") as im:
        assert im.size == (12, 8)
    assert not [p for p in (tmp_path / "out").rglob(".*")]  # no temp files
