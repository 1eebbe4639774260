"""Community RRDBNet (ESRGAN) and SRVGGNetCompact files, recognised from tensor names and shapes (no torch here).

ESRGAN comes in three key layouts: the original repository's `model.N` sequential (old arch), its 2019 rewrite
(`RRDB_trunk`, `trunk_conv`, `upconvN`, `HRconv`) and BasicSR's (`body`, `conv_body`, `conv_upN`: zoo's own names).
Width, depth, growth, ESRGAN+ 1x1 skips, the upsampling count and a pixel-unshuffled input are read off the shapes.
"""
from __future__ import annotations

import math
import re
from typing import Callable, Mapping

import zoo

Shapes = Mapping[str, tuple]
CONV_NAMES = ("conv1", "conv2", "conv3", "conv4", "conv5")


def _blocks(shapes: Shapes, pattern: str) -> list[int]:
    """The block indices whose first dense conv matches `pattern` (with one {} for the index), in order."""
    found = {int(m.group(1)) for k in shapes if (m := re.fullmatch(pattern.format(r"(\d+)"), k))}
    if found != set(range(len(found))):
        raise ValueError("block indices are not 0..n-1")
    return sorted(found)


def _rrdb(shapes: Shapes, first: str, body: Callable[[int, str, str], str], trunk: str, ups: list[str],
          hr: str, last: str, num_block: int) -> zoo.Recognized:
    """What an RRDBNet file holds, whatever its names: `body(i, rdb_index, conv)` names a dense conv's file key."""
    cin, num_feat = shapes[first + ".weight"][1], shapes[first + ".weight"][0]
    unshuffle = {3: 1, 12: 2, 48: 4}.get(cin)
    if unshuffle is None:
        raise zoo.WeightsError(f"its first conv takes {cin} channels; zoo runs RGB models (3 channels, or 12 / 48 "
                               "for a pixel-unshuffled 2x / 1x input). Grayscale and RGBA models are not supported.")
    if shapes[last + ".weight"][0] != 3:
        raise zoo.WeightsError(f"its last conv gives {shapes[last + '.weight'][0]} channels; zoo runs RGB models.")
    for up in ups:
        if shapes[up + ".weight"][0] != num_feat:
            raise zoo.WeightsError("its upsampler is not nearest + conv (a pixel-shuffle upsampler?); not supported.")
    total = 2 ** len(ups)
    if total % unshuffle:
        raise ValueError("unshuffle larger than the upsampling")
    plus = body(0, "1", "conv1x1") + ".weight" in shapes
    keys: dict[str, str] = {}
    for i in range(num_block):
        for r in "123":
            for c in CONV_NAMES:
                for p in ("weight", "bias"):
                    keys[f"{body(i, r, c)}.{p}"] = f"body.{i}.rdb{r}.{c}.{p}"
            if plus:
                keys[f"{body(i, r, 'conv1x1')}.weight"] = f"body.{i}.rdb{r}.conv1x1.weight"
    ours = [("conv_first", first), ("conv_body", trunk), ("conv_hr", hr), ("conv_last", last)]
    ours += [(f"conv_up{j + 1}", up) for j, up in enumerate(ups)]
    for mine, theirs in ours:
        keys[f"{theirs}.weight"], keys[f"{theirs}.bias"] = f"{mine}.weight", f"{mine}.bias"
    extra = sorted(set(shapes) - set(keys))
    if extra:
        raise ValueError(f"unexpected tensors {extra[:3]}")
    hp = {"num_feat": num_feat, "num_block": num_block, "num_grow_ch": shapes[body(0, "1", "conv1") + ".weight"][0],
          "scale": total // unshuffle, "unshuffle": unshuffle, "plus": plus}
    return zoo.Recognized(hyperparameters=hp, keys=keys, scale=total // unshuffle)


def esrgan_old(shapes: Shapes) -> zoo.Recognized | None:
    """The original ESRGAN repository's sequential: model.0 conv, model.1.sub (blocks + trunk conv), upconvs…"""
    if "model.0.weight" not in shapes or "model.1.sub.0.RDB1.conv1.0.weight" not in shapes:
        return None
    blocks = _blocks(shapes, r"model\.1\.sub\.{}\.RDB1\.conv1\.0\.weight")
    top = sorted({int(m.group(1)) for k in shapes if (m := re.fullmatch(r"model\.(\d+)\.weight", k))})
    n = (top[-1] - 4) // 3  # model.3, .6, .9: an upconv per 2x; then HR conv at 3n+2 and the last at 3n+4
    if top != [0, *range(3, 3 * n + 1, 3), 3 * n + 2, 3 * n + 4] or n < 0:
        raise ValueError("not the old ESRGAN sequential")
    return _rrdb(shapes, "model.0", lambda i, r, c: f"model.1.sub.{i}.RDB{r}.{c}" + (".0" if c != "conv1x1" else ""),
                 f"model.1.sub.{len(blocks)}", [f"model.{3 * j}" for j in range(1, n + 1)], f"model.{3 * n + 2}",
                 f"model.{3 * n + 4}", len(blocks))


def esrgan_2019(shapes: Shapes) -> zoo.Recognized | None:
    """ESRGAN's 2019 rewrite: conv_first, RRDB_trunk.N.RDBk, trunk_conv, upconvN, HRconv, conv_last."""
    if "RRDB_trunk.0.RDB1.conv1.weight" not in shapes or "trunk_conv.weight" not in shapes:
        return None
    blocks = _blocks(shapes, r"RRDB_trunk\.{}\.RDB1\.conv1\.weight")
    ups = [f"upconv{j}" for j in range(1, 4) if f"upconv{j}.weight" in shapes]
    return _rrdb(shapes, "conv_first", lambda i, r, c: f"RRDB_trunk.{i}.RDB{r}.{c}", "trunk_conv", ups, "HRconv",
                 "conv_last", len(blocks))


def esrgan_basicsr(shapes: Shapes) -> zoo.Recognized | None:
    """BasicSR / Real-ESRGAN's RRDBNet (zoo's own names): conv_first, body.N.rdbk, conv_body, conv_upN…"""
    if "body.0.rdb1.conv1.weight" not in shapes or "conv_body.weight" not in shapes:
        return None
    blocks = _blocks(shapes, r"body\.{}\.rdb1\.conv1\.weight")
    ups = [f"conv_up{j}" for j in range(1, 4) if f"conv_up{j}.weight" in shapes]
    return _rrdb(shapes, "conv_first", lambda i, r, c: f"body.{i}.rdb{r}.{c}", "conv_body", ups, "conv_hr",
                 "conv_last", len(blocks))


def compact(shapes: Shapes) -> zoo.Recognized | None:
    """SRVGGNetCompact: body.0 conv, (activation,) conv… and a last conv to 3·r² channels; any width and depth."""
    if not shapes or not all(re.fullmatch(r"body\.\d+\.(weight|bias)", k) for k in shapes):
        return None
    convs = sorted(int(k.split(".")[1]) for k, s in shapes.items() if k.endswith(".weight") and len(s) == 4)
    prelu = sorted(int(k.split(".")[1]) for k, s in shapes.items() if k.endswith(".weight") and len(s) == 1)
    if convs != list(range(0, 2 * len(convs), 2)) or prelu not in ([], [c + 1 for c in convs[:-1]]):
        raise ValueError("not conv/activation pairs")
    num_feat, cin = shapes["body.0.weight"][:2]
    out = shapes[f"body.{convs[-1]}.weight"][0]
    upscale = math.isqrt(out // 3)
    if cin != 3 or out != 3 * upscale * upscale:
        raise zoo.WeightsError(f"its convs take {cin} and give {out} channels; zoo runs RGB Compact models "
                               "(3 in, 3·scale² out).")
    keys = {k: k for k in shapes}
    notes = () if prelu else ("the file's activations have no weights: ReLU or LeakyReLU cannot be told apart; "
                              "LeakyReLU (0.1, Real-ESRGAN's other choice) is assumed; set hyperparameters.act: "
                              "relu in the card if the author says so",)
    hp = {"num_feat": num_feat, "num_conv": len(convs) - 2, "scale": upscale, "act": "prelu" if prelu else "leakyrelu"}
    return zoo.Recognized(hyperparameters=hp, keys=keys, scale=upscale, notes=notes)
