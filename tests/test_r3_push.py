"""Issue 25 item 15 (push): a card whose metric, tags or name cannot be published is one line, and a failed dry run
leaves no stage folder behind to block the next one."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import zoo
from zoo_core.cli import main
from zoo_core.weights.safetensors_io import sha256_file


def card_file(tmp_path: Path, **changes) -> Path:
    """The example plugin's card as a card file of our own, with `changes`."""
    from zoo_core.api import get_card

    weights = zoo.fetch("example-tiny")

    card = get_card("example-tiny-nearest").to_dict()
    card.pop("default", None)
    import shutil

    shutil.copyfile(weights, tmp_path / "w.safetensors")  # a card names files beside it (or in its package)
    card.update({"name": "mine", "weights": {"file": "w.safetensors", "sha256": sha256_file(weights)}, **changes})
    path = tmp_path / f"card{len(list(tmp_path.glob('card*.yaml')))}.yaml"
    path.write_text(yaml.safe_dump(card, sort_keys=False))
    return path


@pytest.mark.parametrize("changes,words", [
    ({"metrics": {"psnr": {"value": "abc"}}}, "metric 'psnr' must be a mapping whose value"),
    ({"metrics": {"psnr": "abc"}}, "metric 'psnr' must be a mapping"),
    ({"metrics": {"psnr": {"value": 30.0, "bicubic": float("nan")}}}, "finite numbers"),
    ({"tags": [1, "a"]}, "tags must be short single-line words"),
    ({"tags": ["ok\nzoo: forged"]}, "tags must be short single-line words"),
    ({"name": "evil\n"}, "evil"),
], ids=["metric-abc", "metric-not-mapping", "metric-nan", "tags-int", "tag-newline", "name-newline"])
def test_push_dry_run_refuses_in_one_line_and_leaves_no_folder(changes, words, tmp_path, capsys):
    out = tmp_path / "stage"
    code = main(["push", str(card_file(tmp_path, **changes)), "--repo-id", "me/x", "--dry-run", str(out)])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if ln.startswith("zoo: error: ")]
    assert len(lines) == 1 and words in lines[0], err
    assert not out.exists()  # nothing left to block the next run
    assert main(["push", str(card_file(tmp_path)), "--repo-id", "me/x", "--dry-run", str(out)]) == 0
    assert (out / "README.md").is_file()
