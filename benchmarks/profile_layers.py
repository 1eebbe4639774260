"""Where any card's CPU time goes on ncnn, layer by layer, and what export variants and torch paths do, against UpConv_7.

A sibling of profile_drrn.py (which reads DRRN-lite's residual units) for any card, espcn7 first:

1. layers: one tile (the card's default tile, or --tile, plus its context) on one ncnn thread; the blob after
   every layer is extracted in turn (ncnn computes only what a blob needs), so a layer's cost is the difference
   between its blob and the one before; with each convolution's MAC rate.
2. variants: the whole tile through export variants and torch paths, interleaved with UpConv_7 on its own tile,
   with the largest difference from the default export in 8-bit levels (exact = within 1):
   - "SELU as ELU, lambda folded into the reading convs" (SELU = lambda * ELU; a conv is linear and pads with
     zeros, so lambda can scale its weights): measured no faster, so not in the exporter;
   - "no activations at all" (not exact: a lower bound for what the activation passes cost);
   - ncnn options (profile_drrn.OPTION_VARIANTS' Winograd and sgemm rows);
   - torch eager NCHW / channels_last, torch.jit.freeze (oneDNN, fused conv + activation where it can).
3. entry: the RGB entry convolution alone (its blob extracted), for the card and UpConv_7, as exported (Winograd
   off for it: ncnn_modules.FEW_INPUTS) and with ncnn's own choice (Winograd on), with the difference in levels.

Times are CPU seconds of this thread (time.thread_time) beside wall seconds, medians of interleaved repetitions.

    .venv/bin/python benchmarks/profile_layers.py [--card espcn7] [--parts layers variants entry] [--tile N] [--reps 5]
"""
from __future__ import annotations

import argparse
import os
import time
from typing import Callable

import numpy as np

from bench_costs import BASE, test_image
from profile_drrn import OPTION_VARIANTS, Tile, median_times

DEFAULT = "default export (fp32, zoo's options)"
NCNN_OPTIONS = ("Winograd F(4,3) only (no F(6,3))", "no Winograd (sgemm / packed direct)", "no sgemm",
                "no packing layout")


def default_tile(card: str) -> int:
    """The tile zoo.load gives the card on this machine (its working-set cap on the backend's preference)."""
    import zoo

    return int(zoo.load(card).tile_size or 256)


def layer_blobs(param: str) -> list[tuple[str, str, str, set[str]]]:
    """(type, name, output blob, the output blobs of every computing layer it depends on), in order.

    Input and Split are left out (a Split's outputs stand for its input), so a layer's own time is its blob's
    time less the own times of what it depends on: right for side branches too (a bicubic skip, an add).
    """
    alias: dict[str, str] = {}
    needs: dict[str, set[str]] = {}
    found = []
    for r in (ln.split() for ln in param.splitlines()[2:]):
        n_in, n_out = int(r[2]), int(r[3])
        ins, outs = [alias.get(b, b) for b in r[4:4 + n_in]], r[4 + n_in:4 + n_in + n_out]
        if r[0] == "Split":
            alias |= {b: ins[0] for b in outs}
        elif r[0] != "Input":
            needs[outs[0]] = set().union(*[needs.get(b, set()) | ({b} if b in needs else set()) for b in ins])
            found.append((r[0], r[1], outs[0], needs[outs[0]]))
    return found


def conv_macs(param: str) -> dict[str, float]:
    """MACs per computed pixel of every stride-1 Convolution (name → in·out·k², its weight count)."""
    macs = {}
    for r in (ln.split() for ln in param.splitlines()[2:]):
        if r[0] == "Convolution":
            p = dict(kv.split("=", 1) for kv in r[4 + int(r[2]) + int(r[3]):])
            macs[r[1]] = float(p["6"])
    return macs


def part_layers(args: argparse.Namespace, img: np.ndarray) -> None:
    """Print each layer's CPU time on one tile (difference of successive blobs), its share and MAC rate."""
    net, base = Tile(args.card, args.tile, img), Tile(BASE, 256, img)
    blobs = layer_blobs(net.model.param)
    runs: dict[str, Callable[[], object]] = {b: (lambda b=b: net.run(b)) for _, _, b, _ in blobs}
    t = median_times(runs | {BASE: base.run}, args.reps, time.thread_time)
    px, macs = net.x.shape[1] * net.x.shape[2], conv_macs(net.model.param)
    whole = t[blobs[-1][2]]
    print(f"\n### {args.card} per layer: one {args.tile}² tile (+ context: {net.x.shape[1]}² computed), 1 ncnn thread, "
          f"CPU time, {args.reps} repetitions, load average {os.getloadavg()[0]:.1f}\n")
    print("| layer | type | ms | ns per computed px | share | G MAC/s |\n|---|---|---:|---:|---:|---:|")
    own: dict[str, float] = {}
    for kind, name, blob, needed in blobs:
        sec = own[blob] = t[blob] - sum(own[b] for b in needed)
        rate = f"{macs[name] * px / sec / 1e9:.0f}" if name in macs and sec > 0 else ""
        print(f"| {name} | {kind} | {1000 * sec:.1f} | {1e9 * sec / px:.0f} | {sec / whole:.0%} | {rate} |")
    upx = base.x.shape[1] * base.x.shape[2]
    print(f"| {args.card}, whole | | {1000 * whole:.1f} | {1e9 * whole / px:.0f} | 100% | "
          f"{sum(macs.values()) * px / whole / 1e9:.0f} |")
    print(f"| {BASE}, whole (256² tile, {base.x.shape[1]}² computed) | | {1000 * t[BASE]:.1f} | "
          f"{1e9 * t[BASE] / upx:.0f} | per computed px: {args.card} / UpConv_7 = {whole / px / (t[BASE] / upx):.2f} | |")


class Variant(Tile):
    """A Tile whose network comes from a hand-made layer list (an export variant)."""

    def __init__(self, name: str, tile: int, img: np.ndarray, build: Callable[[object], list]) -> None:
        super().__init__(name, tile, img)
        from zoo_core.default_plugins.backend_ncnn import OPTIONS, load_net
        from zoo_core.default_plugins.ncnn_export import NcnnModel, write_bin, write_param

        layers = build(self.module)
        self.model = NcnnModel(param=write_param(layers), bin=write_bin(layers))
        self.net = load_net(self.model, threads=1, options=dict(OPTIONS["fp32"]))


def selu_as_elu(module) -> list:
    """The export with every SELU read only by convolutions turned into ELU, lambda moved into their weights."""
    from zoo_core.default_plugins.ncnn_export import fuse_activations, insert_splits, trace_layers

    layers = trace_layers(module.eval())
    for selu in [la for la in layers if la.type == "SELU"]:
        users = [la for la in layers if selu.outputs[0] in la.inputs]
        if not users or any(u.type != "Convolution" for u in users):
            continue
        for conv in users:  # a new array: the exported weights share memory with the module's parameters
            conv.weights[0] = (conv.weights[0][0] * np.float32(selu.params[1]), True)
        selu.type, selu.params = "ELU", {0: selu.params[0]}
    return insert_splits(fuse_activations(layers))


def no_activations(module) -> list:
    """The export with every SELU/ELU dropped (not exact: a lower bound)."""
    from zoo_core.default_plugins.ncnn_export import _rename, fuse_activations, insert_splits, trace_layers

    layers = trace_layers(module.eval())
    for layer in [la for la in layers if la.type in ("SELU", "ELU")]:
        layers.remove(layer)
        _rename(layers, layer.outputs[0], layer.inputs[0])
    return insert_splits(fuse_activations(layers))


def torch_runs(name: str, x: np.ndarray) -> dict[str, Callable[[], np.ndarray]]:
    """Torch paths on the same tile, one thread: eager NCHW, eager channels_last, jit trace + freeze."""
    import torch

    import zoo

    torch.set_num_threads(1)
    m = zoo.load(name, backend="torch").runner.module.eval()
    t = torch.from_numpy(x)[None]
    cl = t.contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        frozen = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(m, t)))
        frozen(t), frozen(t)  # the profiling runs that compile the fused graph

    def call(fn, inp):
        with torch.no_grad():
            return fn(inp)[0].numpy()
    return {"torch eager NCHW": lambda: call(m, t), "torch eager channels_last": lambda: call(m, cl),
            "torch.jit freeze + optimize_for_inference": lambda: call(frozen, t)}


def part_variants(args: argparse.Namespace, img: np.ndarray) -> None:
    """Print every variant's tile time against UpConv_7's default tile time, and its difference from the default."""
    runs: dict[str, Callable[[], np.ndarray]] = {}
    default = Tile(args.card, args.tile, img)
    runs[DEFAULT] = default.run
    runs["SELU as ELU, lambda folded into the reading convs"] = Variant(args.card, args.tile, img, selu_as_elu).run
    runs["no activations at all (NOT exact)"] = Variant(args.card, args.tile, img, no_activations).run
    for v in NCNN_OPTIONS:
        runs[v] = Tile(args.card, args.tile, img, OPTION_VARIANTS[v]).run
    runs |= torch_runs(args.card, default.x)
    base = Tile(BASE, 256, img)
    ref = default.run()
    diff = {k: float(np.abs(fn() - ref).max()) * 255 for k, fn in runs.items()}
    wall: dict[str, float] = {}
    t = median_times(runs | {BASE: base.run}, args.reps, time.thread_time, wall)
    px, upx = default.x.shape[1] * default.x.shape[2], base.x.shape[1] * base.x.shape[2]
    print(f"\n### {args.card} variants: one {args.tile}² tile ({default.x.shape[1]}² computed), 1 thread, CPU time, "
          f"{args.reps} repetitions, load average {os.getloadavg()[0]:.1f}\n")
    print(f"| variant | ms | vs default | per computed px vs UpConv_7 | max diff (8-bit levels) |\n|---|---:|---:|---:|---:|")
    for k in runs:
        print(f"| {k} | {1000 * t[k]:.1f} | {t[k] / t[DEFAULT]:.2f} | {t[k] / px / (t[BASE] / upx):.2f} | {diff[k]:.4f} |")
    print(f"| {BASE} (256² tile, {base.x.shape[1]}² computed) | {1000 * t[BASE]:.1f} | | 1.00 | |")


def entry_runs(tile: Tile, label: str) -> dict[str, Callable[[], np.ndarray]]:
    """The entry conv's blob as exported, and with its featmask dropped (ncnn's own choice: Winograd)."""
    from zoo_core.default_plugins.backend_ncnn import OPTIONS, load_net
    from zoo_core.default_plugins.ncnn_export import NcnnModel

    entry = next(r for r in (ln.split() for ln in tile.model.param.splitlines()) if r[0] == "Convolution")
    blob = entry[4 + int(entry[2])]
    param = tile.model.param.replace(" 31=64", "")
    winograd = Tile.__new__(Tile)
    winograd.x, winograd.allocators = tile.x, None
    winograd.net = load_net(NcnnModel(param=param, bin=tile.model.bin), threads=1, options=dict(OPTIONS["fp32"]))
    return {f"{label}: {entry[1]} as exported": lambda: tile.run(blob),
            f"{label}: {entry[1]}, Winograd on": lambda: winograd.run(blob)}


def part_entry(args: argparse.Namespace, img: np.ndarray) -> None:
    """Print the entry conv's time as exported against ncnn's own choice, for the card and UpConv_7."""
    runs = entry_runs(Tile(args.card, args.tile, img), args.card) | entry_runs(Tile(BASE, 256, img), BASE)
    keys = list(runs)
    diff = {k: float(np.abs(runs[k]() - runs[keys[i - i % 2]]()).max()) * 255 for i, k in enumerate(keys)}
    t = median_times(runs, args.reps, time.thread_time)
    print(f"\n### The RGB entry convolution alone: 1 thread, CPU time, {args.reps} repetitions, "
          f"load average {os.getloadavg()[0]:.1f}\n")
    print("| run | ms | vs as exported | max diff (8-bit levels) |\n|---|---:|---:|---:|")
    for i, k in enumerate(keys):
        print(f"| {k} | {1000 * t[k]:.1f} | {t[k] / t[keys[i - i % 2]]:.2f} | {diff[k]:.4f} |")


def main(argv: list[str] | None = None) -> None:
    """Run the chosen parts."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--parts", nargs="+", default=["layers", "variants"], choices=("layers", "variants", "entry"))
    p.add_argument("--card", default="espcn7")
    p.add_argument("--tile", type=int, default=None, help="default: the card's default tile")
    p.add_argument("--reps", type=int, default=5)
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args.tile = args.tile or default_tile(args.card)
    img = test_image(max(args.tile, 256) + 64)
    parts = {"layers": part_layers, "variants": part_variants, "entry": part_entry}
    for name in args.parts:
        parts[name](args, img)


if __name__ == "__main__":
    main()
