"""The seed's patch pipeline: HR images in memory, a grid of non-overlapping patches, at most
`max_patch_per_img` sampled per image and epoch, LR made on the fly by the degradation.

Every sample is a pure function of (seed, global sample index), so a resumed run sees exactly the
data it would have seen, whatever the number of DataLoader workers or ranks.
"""
from __future__ import annotations

import os
import random
import stat
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset, Sampler

from ..architecture import Geometry
from ..data.images import to_rgb  # noqa: F401  (the trainer, eval and validation read pictures through it)
from ..errors import ConfigError, ImageError
from ..infer.jobs import IMAGE_SUFFIXES  # the one list of picture suffixes zoo reads (upscale and training)
from ..interfaces import Degradation
from .config import ACTIVE_RATE, ACTIVE_TRIES, check_sampling
from .guard import regular_images

Box = tuple[int, int, int, int]


def image_files(dirs: Sequence[str | Path], exclude: Sequence[str] = ()) -> list[Path]:
    """Image files directly inside `dirs`, sorted, minus excluded file names."""
    files: list[Path] = []
    for d in dirs:
        d = Path(d)
        if not d.is_dir():
            raise ConfigError(f"Image folder '{d}' does not exist. Fix the path in the config.")
        named = sorted(p for p in d.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.name not in exclude)
        files += regular_images(named, f"data.dirs {d}")  # a FIFO named x.png would block the read for ever
    return files


def corpus_files(name: str, split: str) -> list[Path]:
    """The files of a prepared corpus split (a clear error naming `zoo data prepare` when missing)."""
    from ..data.prepare import split_files

    return split_files(name, split)


def corpus_images(name: str, scales: Sequence[float], source_repeat: dict[str, int],
                  exclude: Sequence[str] = ()) -> list[Image.Image]:
    """The train split's pictures (minus excluded file names) at each scale, each source's repeated
    source_repeat[package] times (0: that source left out)."""
    from ..data.prepare import split_entries

    entries = [(f, p) for f, p in split_entries(name, "train") if f.name not in exclude]
    unknown = sorted(set(source_repeat) - {pkg for _, pkg in entries})
    if unknown:
        raise ConfigError(f"data.source_repeat names '{unknown[0]}', which is not a source of corpus '{name}' "
                          f"(its sources: {', '.join(sorted({p for _, p in entries}))}).")
    out: list[Image.Image] = []
    for pkg in sorted({p for _, p in entries} - {p for p, n in source_repeat.items() if n == 0}):
        images = rescaled(load_images([f for f, p in entries if p == pkg]), scales)
        out += images * source_repeat.get(pkg, 1)
    return out


def spread(files: Sequence[Path], count: int, key=lambda p: p.name.split("-", 1)[0]) -> list[Path]:
    """`count` files spread evenly over the list, taken in turn from each source (name prefix)."""
    groups: dict[str, list[Path]] = {}
    for f in sorted(files):
        groups.setdefault(key(f), []).append(f)
    picked: list[Path] = []
    per = max(1, count // max(1, len(groups)))
    for members in groups.values():
        n = min(len(members), per)
        picked += [members[(i * len(members)) // n] for i in range(n)]
    if count <= len(picked):
        return picked[:count]
    rest = [f for f in sorted(files) if f not in picked]  # a source with few files leaves room: fill it evenly
    return (picked + rest[:: max(1, len(rest) // (count - len(picked)))])[:count]


def load_images(files: Sequence[Path]) -> list[Image.Image]:
    """Decode every file once into memory as RGB."""
    out = []
    for f in files:
        try:
            if not stat.S_ISREG(os.stat(f).st_mode):  # never open a pipe or device: it would block
                raise ImageError(f"Training image '{f}' is not a regular file (a pipe, socket or device). "
                                 "Give image files.")
            with Image.open(f) as im:
                out.append(to_rgb(im))
        except OSError as exc:
            raise ImageError(f"Cannot read training image '{f}' ({exc}). Remove it or fix it.") from None
    return out


def rescaled(images: Sequence[Image.Image], scales: Sequence[float]) -> list[Image.Image]:
    """Each image at each scale (Lanczos): finer detail per pixel, as in small pictures, from the same data."""
    out = []
    for im in images:
        for s in scales:
            size = (max(1, round(im.width * s)), max(1, round(im.height * s)))
            out.append(im if size == im.size else im.resize(size, Image.Resampling.LANCZOS))
    return out


def grid_boxes(size: tuple[int, int], patch: int) -> list[Box]:
    """The seed's non-overlapping patch grid (the right/bottom remainder is dropped)."""
    w, h = size
    return [(patch * i, patch * j, patch * (i + 1), patch * (j + 1)) for i in range(w // patch) for j in range(h // patch)]


FLAT_REDRAWS = 8  # data.min_patch_std: how many times a flat random box is drawn again before it is kept anyway
DETAIL_BLOCK = 4  # the detail table counts 4×4 blocks: 1/16 of the memory, so a corpus of 1,000 pictures fits


def detail_table(img: Image.Image, scale: int) -> np.ndarray:
    """Summed-area table, per DETAIL_BLOCK block, of how much bicubic shrink-then-enlarge loses (squared error)."""
    w, h = img.size
    small = img.resize((max(1, w // scale), max(1, h // scale)), Image.Resampling.BICUBIC)
    lost = np.asarray(img, dtype=np.float32) - np.asarray(small.resize((w, h), Image.Resampling.BICUBIC), dtype=np.float32)
    err = np.square(lost).sum(axis=2)
    b = DETAIL_BLOCK
    hb, wb = -(-h // b), -(-w // b)
    padded = np.zeros((hb * b, wb * b), dtype=np.float32)
    padded[:h, :w] = err
    blocks = padded.reshape(hb, b, wb, b).sum(axis=(1, 3), dtype=np.float64)
    table = np.zeros((hb + 1, wb + 1), dtype=np.float64)
    table[1:, 1:] = blocks.cumsum(0).cumsum(1)
    return table


def box_detail(table: np.ndarray, box: Box) -> float:
    """What bicubic loses inside an HR box (to whole DETAIL_BLOCK blocks), from a detail_table."""
    x0, y0, x1, y1 = (v // DETAIL_BLOCK for v in box)
    return float(table[y1, x1] - table[y0, x1] - table[y1, x0] + table[y0, x0])


def to_tensor(img: Image.Image) -> torch.Tensor:
    """PIL RGB → CHW float32 in [0, 1]."""
    return torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1).float().div_(255)


def augment(img: Image.Image, k: int) -> Image.Image:
    """One of the 8 dihedral transforms (k in 0..7)."""
    if k & 4:
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return img.rotate(90 * (k & 3), expand=True) if k & 3 else img


class PatchDataset(Dataset):
    """Index g → (LR patch, HR target aligned with the network's output)."""

    def __init__(self, images: Sequence[Image.Image], *, patch_size: int, max_patch_per_img: int,
                 degradation: Degradation, geometry: Geometry, seed: int = 0, augment: bool | str = True,
                 sampling: str = "grid", min_std: float = 0.0) -> None:
        if patch_size % geometry.scale:
            raise ConfigError(f"data.patch_size ({patch_size}) must be a multiple of the scale ({geometry.scale}).")
        lr_side = patch_size // geometry.scale
        if lr_side <= 2 * geometry.offset or lr_side % geometry.size_multiple:
            raise ConfigError(
                f"data.patch_size {patch_size} gives {lr_side}-pixel LR patches; the network needs more than "
                f"{2 * geometry.offset} and a multiple of {geometry.size_multiple}."
            )
        self.images = list(images)
        self.grids = [grid_boxes(im.size, patch_size) for im in self.images]
        self.per_epoch = sum(min(len(g), max_patch_per_img) for g in self.grids)
        if self.per_epoch == 0:
            raise ConfigError(f"No training image is at least {patch_size}×{patch_size} pixels. Lower data.patch_size.")
        self.k, self.degradation, self.geometry = max_patch_per_img, degradation, geometry
        check_sampling(sampling)
        self.seed, self.augment, self.sampling, self.min_std = seed, augment, sampling, min_std
        self._epochs: dict[int, list[tuple[int, Box]]] = {}
        self._detail: dict[int, np.ndarray] = {}  # id(image) → detail_table; repeated images share one

    def __len__(self) -> int:
        return self.per_epoch

    def epoch_patches(self, epoch: int) -> list[tuple[int, Box]]:
        """This epoch's (image, box) list: a per-image sample of the grid, then shuffled."""
        if epoch not in self._epochs:
            rng = random.Random(f"zoo-patches:{self.seed}:{epoch}")
            chosen = [(i, b) for i, g in enumerate(self.grids) for b in self._pick(rng, i, g)]
            rng.shuffle(chosen)
            self._epochs = {epoch: chosen}  # keep one epoch: workers walk through them in order
        return self._epochs[epoch]

    def _pick(self, rng: random.Random, i: int, grid: list[Box]) -> list[Box]:
        """This epoch's boxes for image i: grid cells (the seed), or as many boxes anywhere in the image."""
        if self.min_std > 0 and self.sampling == "grid":
            grid = [b for b in grid if self._std(i, b) >= self.min_std] or grid
        n = min(len(grid), self.k)
        if self.sampling == "grid" or not grid:
            return rng.sample(grid, n) if len(grid) > n else grid
        # a repeated image then gives new crops each time instead of the same grid cells
        side, (w, h) = grid[0][2] - grid[0][0], self.images[i].size
        boxes = []
        for _ in range(n):
            tries = ACTIVE_TRIES if self.sampling == "active" and rng.random() < ACTIVE_RATE else 1
            xy = [(rng.randint(0, w - side), rng.randint(0, h - side)) for _ in range(tries)]
            x, y = max(xy, key=lambda p: self._detail_in(i, p, side)) if tries > 1 else xy[0]
            for _ in range(FLAT_REDRAWS if self.min_std > 0 else 0):  # flat colour: draw again, a few times at most
                if self._std(i, (x, y, x + side, y + side)) >= self.min_std:
                    break
                x, y = rng.randint(0, w - side), rng.randint(0, h - side)
            boxes.append((x, y, x + side, y + side))
        return boxes

    def _std(self, i: int, box: Box) -> float:
        """Standard deviation (0-255) of the HR box's grey values: below data.min_patch_std it is flat colour."""
        return float(np.asarray(self.images[i].crop(box).convert("L"), dtype=np.float32).std())

    def _detail_in(self, i: int, xy: tuple[int, int], side: int) -> float:
        """Bicubic's squared error inside the box at xy of image i: high where there are lines and texture."""
        key = id(self.images[i])
        if key not in self._detail:
            self._detail[key] = detail_table(self.images[i], self.geometry.scale)
        return box_detail(self._detail[key], (xy[0], xy[1], xy[0] + side, xy[1] + side))

    def __getitem__(self, g: int) -> tuple[torch.Tensor, torch.Tensor]:
        epoch, pos = divmod(int(g), self.per_epoch)
        i, box = self.epoch_patches(epoch)[pos]
        hr = self.images[i].crop(box)
        sample_seed = (self.seed * 1_000_003 + int(g)) % (2**63)
        if self.augment:
            k = random.Random(f"zoo-augment:{sample_seed}").randrange(8)
            hr = augment(hr, k & 4 if self.augment == "flips" else k)  # "flips": mirror or not, never rotate
        lr, hr = self.degradation(hr, scale=self.geometry.scale, seed=sample_seed)
        x, y = to_tensor(lr), to_tensor(hr)
        c = self.geometry.offset * self.geometry.scale  # UpConv_7: 14 HR pixels per side are never predicted
        return x, (y[:, c:-c, c:-c] if c else y)


class StepBatchSampler(Sampler[list[int]]):
    """Batches for steps start..steps−1; rank r of w takes its own slice of each global batch."""

    def __init__(self, *, start_step: int, steps: int, batch_size: int, rank: int = 0, world: int = 1) -> None:
        self.start, self.steps, self.batch, self.rank, self.world = start_step, steps, batch_size, rank, world

    def __len__(self) -> int:
        return max(0, self.steps - self.start)

    def __iter__(self) -> Iterator[list[int]]:
        for step in range(self.start, self.steps):
            base = (step * self.world + self.rank) * self.batch
            yield list(range(base, base + self.batch))
