"""Where a DRRN-lite card's CPU time goes on its default path (ncnn), and what each knob does, against UpConv_7.

Three parts, each interleaved with upconv7-scale2x (order flipped every repetition), medians:

1. layers: one tile (--tile, with each net's context) on one ncnn thread, extracting the blob after the
   entry conv, after each residual unit and the output (ncnn computes only what a blob needs); a straight
   line through the per-unit times gives the cost of one unit (robust where single differences are noise).
2. options: ncnn options on that tile (Winograd variants, sgemm, packing, pooled allocators, bf16 storage),
   with the largest difference from the fp32 default in 8-bit levels (exact = within 1).
3. tiles: the real tiler (zoo.load's runner: tiles run concurrently, one thread each) at several tile sizes.

Times are CPU seconds of this process (thread_time for 1-2, process_time for 3) beside wall seconds:
on a box shared with other jobs the wall clock measures the scheduler, the CPU time the work.

--card picks the DRRN-lite card (default drrn-lite, 3 units since session 15; the tables in benchmarks/README.md
from before then were taken on the 7-unit model, now --card drrn-lite-7u).

    .venv/bin/python benchmarks/profile_drrn.py [--card drrn-lite-7u] [--parts layers options tiles] [--tile 256]
        [--reps 5] [--tiles 128 192 256 384 512]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Callable

import numpy as np

from bench_costs import BASE, test_image

OPTION_VARIANTS: dict[str, dict[str, bool]] = {
    "default (fp32, zoo's options)": {},
    "Winograd F(4,3) only (no F(6,3))": {"use_winograd63_convolution": False},
    "Winograd F(2,3) only": {"use_winograd63_convolution": False, "use_winograd43_convolution": False},
    "no Winograd (sgemm / packed direct)": {"use_winograd_convolution": False},
    "no sgemm": {"use_sgemm_convolution": False},
    "no packing layout": {"use_packing_layout": False},
    "pooled blob/workspace allocators": {"pool": True},
    "bf16 storage (AVX512-BF16)": {"use_bf16_storage": True},
}


def median_times(runs: dict[str, Callable[[], object]], reps: int, clock: Callable[[], float],
                 wall: dict[str, float] | None = None) -> dict[str, float]:
    """Median `clock` seconds per run (and wall seconds into `wall`), interleaved, the order flipped every repetition."""
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in runs}
    keys = list(runs)
    for rep in range(reps):
        for k in keys if rep % 2 == 0 else keys[::-1]:
            t, w = clock(), time.perf_counter()
            runs[k]()
            times[k].append((clock() - t, time.perf_counter() - w))
    if wall is not None:
        wall.update({k: statistics.median(w for _, w in v) for k, v in times.items()})
    return {k: statistics.median(c for c, _ in v) for k, v in times.items()}


class Tile:
    """One network exported to ncnn, fed one tile of the test image with its context."""

    def __init__(self, name: str, tile: int, img: np.ndarray, options: dict[str, bool] | None = None) -> None:
        import zoo
        from zoo_core.default_plugins.backend_ncnn import OPTIONS, load_net
        from zoo_core.default_plugins.ncnn_export import export_ncnn

        up = zoo.load(name, backend="torch")
        opts = {**OPTIONS["fp32"], **(options or {})}
        self.allocators = self._pool(opts.pop("pool", False))
        self.module = up.runner.module
        self.model = export_ncnn(self.module)
        self.net = load_net(self.model, threads=1, options=opts)
        if self.allocators:
            self.net.opt.blob_allocator, self.net.opt.workspace_allocator = self.allocators
        side = tile + 2 * up.geometry.context
        self.x = np.ascontiguousarray(img[:side, :side].transpose(2, 0, 1), dtype=np.float32) / 255

    @staticmethod
    def _pool(wanted: bool) -> tuple | None:
        import ncnn

        return (ncnn.UnlockedPoolAllocator(), ncnn.PoolAllocator()) if wanted else None

    def run(self, blob: str = "out0") -> np.ndarray:
        """Extract `blob` (only the layers it depends on run)."""
        import ncnn

        ex = self.net.create_extractor()
        ex.input("in0", ncnn.Mat(self.x))  # self.x outlives the Mat: ncnn.Mat borrows numpy's memory
        ret, out = ex.extract(blob)
        assert ret == 0, f"ncnn could not compute blob {blob} (code {ret})"
        return np.array(out)


def unit_blobs(param: str) -> list[str]:
    """The entry conv's output, then each residual unit's output (the ReLU after a residual add)."""
    lines = [ln.split() for ln in param.splitlines()[2:]]  # type name n_in n_out inputs outputs params
    entry = next(ln[5] for ln in lines if ln[0] == "Convolution" and ln[1] == "entry")
    return [entry] + [ln[5] for ln in lines if ln[0] == "ReLU" and ln[4].startswith("add")]


def part_layers(args: argparse.Namespace, img: np.ndarray) -> None:
    """Print the entry, per-unit and output costs of the card per computed pixel, and the ratio to UpConv_7."""
    drrn, base = Tile(args.card, args.tile, img), Tile(BASE, args.tile, img)
    blobs = unit_blobs(drrn.model.param)
    runs = {b: (lambda b=b: drrn.run(b)) for b in blobs + ["out0"]} | {BASE: base.run}
    t = median_times(runs, args.reps, time.thread_time)
    per_unit, entry = np.polyfit(np.arange(len(blobs)), [t[b] for b in blobs], 1)
    px = drrn.x.shape[1] * drrn.x.shape[2]
    rows = {"input + entry conv 3→32 (line at 0 units)": entry,
            f"one residual unit (2 convs 32→32, add, ReLU; slope over {len(blobs) - 1} units)": per_unit,
            "exit conv 32→12, PixelShuffle, bicubic Interp, add, clip": t["out0"] - entry - per_unit * (len(blobs) - 1)}
    print(f"\n### {args.card} per part: one {args.tile}² tile (+ context: {drrn.x.shape[1]}² computed), 1 ncnn thread, "
          f"CPU time, load average {os.getloadavg()[0]:.1f}\n")
    print("| part | ms | ns per computed px | share |\n|---|---:|---:|---:|")
    for label, sec in rows.items():
        print(f"| {label} | {1000 * sec:.1f} | {1e9 * sec / px:.0f} | {sec / t['out0']:.0%} |")
    print(f"| {args.card}, whole | {1000 * t['out0']:.1f} | {1e9 * t['out0'] / px:.0f} | 100% |")
    upx = base.x.shape[1] * base.x.shape[2]
    print(f"| {BASE}, whole ({base.x.shape[1]}² computed) | {1000 * t[BASE]:.1f} | {1e9 * t[BASE] / upx:.0f} | "
          f"{args.card} / UpConv_7 = {t['out0'] / t[BASE]:.2f} |")


def part_options(args: argparse.Namespace, img: np.ndarray) -> None:
    """Print, per ncnn option set, the card's and UpConv_7's tile time against UpConv_7's default."""
    nets = {(n, v): Tile(n, args.tile, img, o) for v, o in OPTION_VARIANTS.items() for n in (args.card, BASE)}
    exact = {k: float(np.abs(tile.run() - nets[(k[0], "default (fp32, zoo's options)")].run()).max()) * 255
             for k, tile in nets.items()}
    t = median_times({k: tile.run for k, tile in nets.items()}, args.reps, time.thread_time)
    ref = t[(BASE, "default (fp32, zoo's options)")]
    print(f"\n### ncnn options: one {args.tile}² tile, 1 thread, CPU time against UpConv_7's default, "
          f"load average {os.getloadavg()[0]:.1f}\n")
    print(f"| options | {args.card} | UpConv_7 | {args.card} max diff (8-bit levels) |\n|---|---:|---:|---:|")
    for v in OPTION_VARIANTS:
        print(f"| {v} | {t[(args.card, v)] / ref:.2f} | {t[(BASE, v)] / ref:.2f} | {exact[(args.card, v)]:.3f} |")


def part_tiles(args: argparse.Namespace, img: np.ndarray) -> None:
    """Print the card through the real tiler at each tile size against UpConv_7 at its default."""
    import zoo

    drrn, base = zoo.load(args.card), zoo.load(BASE)
    runs = {f"{args.card} tile {s}": (lambda s=s: drrn.upscale(img, tile_size=s)) for s in args.tiles}
    runs[f"{BASE} tile {base.tile_size}"] = lambda: base.upscale(img)
    for run in runs.values():
        run()  # warm-up: worker nets, allocations
    wall: dict[str, float] = {}
    cpu = median_times(runs, args.reps, time.process_time, wall)
    ref = f"{BASE} tile {base.tile_size}"
    print(f"\n### The real tiler: {img.shape[0]}² image, {drrn.backend}, batch {drrn.batch_size} concurrent tiles, "
          f"load average {os.getloadavg()[0]:.1f}\n")
    print("| run | CPU s | CPU vs UpConv_7 | wall s | wall vs UpConv_7 |\n|---|---:|---:|---:|---:|")
    for k in runs:
        print(f"| {k} | {cpu[k]:.2f} | {cpu[k] / cpu[ref]:.2f} | {wall[k]:.2f} | {wall[k] / wall[ref]:.2f} |")


def main(argv: list[str] | None = None) -> None:
    """Run the chosen parts."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--parts", nargs="+", default=["layers", "options", "tiles"], choices=("layers", "options", "tiles"))
    p.add_argument("--card", default="drrn-lite", help="a DRRN-lite card (drrn-lite-7u: the 7-unit one)")
    p.add_argument("--tile", type=int, default=256)
    p.add_argument("--tiles", type=int, nargs="+", default=[128, 192, 256, 384, 512])
    p.add_argument("--size", type=int, default=512, help="image side for the tiler part")
    p.add_argument("--reps", type=int, default=5)
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    img = test_image(max(args.size, args.tile + 40))
    parts = {"layers": part_layers, "options": part_options, "tiles": part_tiles}
    for name in args.parts:
        parts[name](args, img if name != "tiles" else img[:args.size, :args.size])


if __name__ == "__main__":
    main()
