"""`zoo data`: corpus plugins, manifest, de-duplication, split by source picture, no-op rerun, Debian sources."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image, ImageDraw

from deb_helpers import make_deb, tree
from zoo_core.cli import main
from zoo_core.data import BuildContext, DatasetSpec, Item, Source
from zoo_core.data.prepare import prepare, read_manifest, split_entries, val_groups


def drawing(seed: int, size: tuple[int, int] = (160, 120)) -> Image.Image:
    """A different little line drawing per seed."""
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(img)
    for _ in range(12):
        x0, y0 = int(rng.integers(0, size[0] - 20)), int(rng.integers(0, size[1] - 20))
        d.ellipse((x0, y0, x0 + int(rng.integers(10, 60)), y0 + int(rng.integers(10, 60))),
                  outline=(0, 0, 0), fill=tuple(int(c) for c in rng.integers(0, 255, 3)), width=2)
    return img


def items(ctx: BuildContext) -> list[Item]:
    a = Source(package="pkg-a", version="1.0", license="Expat")
    b = Source(package="pkg-b", version="2", license="public domain")
    out = [Item(name=f"a{i}", group=f"a-g{i // 2}", source=a, file=f"img/a{i}.png", load=lambda i=i: drawing(i))
           for i in range(12)]
    out += [Item(name=f"b{i}", group=f"b-g{i}", source=b, file=f"svg/b{i}.svg", load=lambda i=i: drawing(100 + i))
            for i in range(10)]
    out.append(Item(name="dup", group="b-dup", source=b, file="svg/dup.svg", load=lambda: drawing(3).resize((320, 240))))
    out.append(Item(name="tiny", group="b-tiny", source=b, file="svg/tiny.svg", load=lambda: drawing(7, (40, 40))))

    def broken() -> None:
        ctx.skip("does not render")
        return None

    out.append(Item(name="broken", group="b-broken", source=b, file="svg/broken.svg", load=broken))
    return out


SPEC = DatasetSpec(name="toy", description="toy corpus", items=items, val_fraction=0.25, min_side=64)


def test_prepare_writes_manifest_split_by_group_and_skips_duplicates(tmp_path: Path) -> None:
    folder, manifest, built = prepare(SPEC, tmp_path / "toy")
    assert built and folder == tmp_path / "toy" and not (tmp_path / "toy.partial").exists()
    files = manifest["files"]
    names = {Path(e["file"]).stem for e in files}
    assert "dup" not in names and "tiny" not in names and "broken" not in names
    assert manifest["skipped"] == {"does not render": 1, "near-duplicate": 1, "smaller than 64px": 1}
    sides: dict[str, set[str]] = {}
    for e in files:
        sides.setdefault(e["group"], set()).add(e["split"])
        data = (folder / e["file"]).read_bytes()
        import hashlib

        assert hashlib.sha256(data).hexdigest() == e["sha256"] and e["file"].startswith(e["split"] + "/")
    assert all(len(s) == 1 for s in sides.values()), "a group must never be on both sides of the split"
    per_source = {p: {e["split"] for e in files if e["source"]["package"] == p} for p in ("pkg-a", "pkg-b")}
    assert per_source == {"pkg-a": {"train", "val"}, "pkg-b": {"train", "val"}}
    assert manifest["sources"]["pkg-b"] == {"version": "2", "license": "public domain"}
    assert manifest["split"]["counts"]["train"] + manifest["split"]["counts"]["val"] == len(files) == 22


def test_second_prepare_is_a_no_op_and_the_split_is_deterministic(tmp_path: Path) -> None:
    _, first, _ = prepare(SPEC, tmp_path / "one")
    stamp = (tmp_path / "one" / "manifest.json").stat().st_mtime_ns
    _, again, built = prepare(SPEC, tmp_path / "one")
    assert not built and again == first and (tmp_path / "one" / "manifest.json").stat().st_mtime_ns == stamp
    _, other, _ = prepare(SPEC, tmp_path / "two")
    assert [(e["file"], e["split"]) for e in other["files"]] == [(e["file"], e["split"]) for e in first["files"]]
    reversed_spec = DatasetSpec(name="toy", description="", items=lambda c: list(reversed(items(c))), val_fraction=0.25)
    assert val_groups(items(BuildContext(cache=tmp_path)), 0.25) == val_groups(reversed_spec.items(BuildContext(cache=tmp_path)), 0.25)


def test_an_interrupted_build_leaves_no_corpus(tmp_path: Path) -> None:
    def failing(ctx: BuildContext) -> list[Item]:
        src = Source(package="p", version="1", license="x")

        def boom() -> None:
            raise KeyboardInterrupt

        return [Item(name="x", group="x", source=src, file="x", load=lambda: drawing(1)),
                Item(name="y", group="y", source=src, file="y", load=boom)]

    with pytest.raises(KeyboardInterrupt):
        prepare(DatasetSpec(name="f", description="", items=failing), tmp_path / "f")
    assert read_manifest(tmp_path / "f") is None and not (tmp_path / "f").exists()


def test_cli_unknown_corpus_and_unprepared_corpus_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZOO_HOME", str(tmp_path))
    assert main(["data", "prepare", "no-such-corpus"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no-such-corpus" in err[0] and "zoo data list" in err[0]
    assert main(["data", "list"]) == 0
    assert "debian-art" in capsys.readouterr().out
    with pytest.raises(Exception) as info:
        split_entries("debian-art", "train")
    assert "zoo data prepare debian-art" in str(info.value)


def _fake_deb(root: Path, package: str, files: dict[str, bytes]) -> None:
    make_deb(root, package, tree(files))  # built in Python: the test needs no dpkg, as zoo does not


def _png(img: Image.Image) -> bytes:
    import io

    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="200" height="150"><rect width="200" height="150" fill="#fff"/>'
       b'<circle cx="70" cy="70" r="50" fill="#f80" stroke="#000" stroke-width="4"/>'
       b'<path d="M10 140 L190 10" stroke="#00f" stroke-width="3"/></svg>')


@pytest.mark.slow
def test_debian_art_from_local_debs_through_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture) -> None:
    debs = tmp_path / "debs"
    debs.mkdir()
    images = "usr/share/games/renpy/demo/game/images"
    _fake_deb(debs, "renpy-demo", {f"{images}/bg park.png": _png(drawing(1, (400, 300))),
                                   f"{images}/eileen happy.png": _png(drawing(2, (200, 400))),
                                   f"{images}/bar empty idle.png": _png(drawing(3, (400, 30))),
                                   f"{images}/mask.png": _png(drawing(4).convert("L"))})
    _fake_deb(debs, "openclipart-svg", {"usr/share/openclipart/svg/people/face_01.svg": SVG,
                                        "usr/share/openclipart/svg/shapes/stars/star.svg": SVG})
    monkeypatch.delenv("ZOO_DEBS", raising=False)  # --debs sets it for the run; restored after the test
    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))  # no dpkg-deb, rsvg-convert or apt-get: none is needed
    assert main(["data", "prepare", "--dir", str(tmp_path / "art"), "--debs", str(debs)]) == 0
    assert "prepared" in capsys.readouterr().out
    m = json.loads((tmp_path / "art" / "manifest.json").read_text())
    got = sorted((e["source"]["package"], e["source"]["version"], Path(e["file"]).name) for e in m["files"])
    assert got == [("openclipart-svg", "9.9-1", "clipart-people-face_01.png"),
                   ("renpy-demo", "9.9-1", "renpy-bg_park.png"), ("renpy-demo", "9.9-1", "renpy-eileen_happy.png")]
    assert "Expat" in m["sources"]["renpy-demo"]["license"] and "public domain" in m["sources"]["openclipart-svg"]["license"]
    assert m["skipped"] == {"grey mask, not a picture": 1}  # the UI bar and the spirograph folder are never listed
    assert main(["data", "prepare", "--dir", str(tmp_path / "art")]) == 0
    assert "already prepared" in capsys.readouterr().out


@pytest.mark.slow
def test_training_config_names_a_corpus_and_writes_only_its_run_dir(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "home"))
    prepare(SPEC, tmp_path / "home" / "data" / "toy")
    from zoo_core.registry import get_registry

    get_registry().datasets.setdefault("toy", SPEC)
    cfg = {"name": "t", "model": {"architecture": "drrn-lite", "hyperparameters": {"channels": 4, "recursions": 1}},
           "data": {"corpus": "toy", "source_repeat": {"pkg-a": 2}, "patch_size": 32, "max_patch_per_img": 1},
           "optim": {"steps": 2, "batch_size": 2, "threads": 1, "warmup_steps": 1},
           "validate": {"every": 2, "corpus": "toy", "count": 2},
           "run_dir": str(tmp_path / "run"), "checkpoint_every": 1, "log_every": 1,
           "export": {"card_name": "t", "weights": str(tmp_path / "installed.safetensors"),
                      "card": str(tmp_path / "installed.yaml")}}
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert main(["train", str(path)]) == 0
    assert (tmp_path / "run" / "export" / "t.safetensors").is_file() and (tmp_path / "run" / "export" / "t.yaml").is_file()
    assert not (tmp_path / "installed.safetensors").exists() and not (tmp_path / "installed.yaml").exists()
    card = yaml.safe_load((tmp_path / "run" / "export" / "t.yaml").read_text())
    assert "toy" in card["metrics"]["psnr_y_2x_validation"]["dataset"] or card["metrics"]
    assert main(["train", str(path), "--export-only", "--install"]) == 0
    assert (tmp_path / "installed.safetensors").is_file() and (tmp_path / "installed.yaml").is_file()
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({**cfg, "data": {**cfg["data"], "source_repeat": {"nope": 2}}}))
    assert main(["train", str(bad)]) == 1
