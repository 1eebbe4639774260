"""The tiling policy: which tile side and how many tiles per batch each image runs with, decided here only.

Three questions, three functions; everyone else asks them:
- `checked_sizes`: are the tile and batch a user gave usable (None keeps the default)? zoo.load asks before any
  download, and an Upscaler built by hand asks the same.
- `for_model`: once a backend is prepared, the model's default tile and batch and its per-image planner: the
  engine's preference (Runner.preferred_tile/_batch), cut on the CPU to what fits the memory budget (cost.py,
  with the engine's working-set factor), and a planner (tile_plan.py) for images that leave room.
- `layout`: for one h×w image, the (tile, batch) it runs in: a given tile as it is, else the model's default,
  grown by the planner where this image leaves the room and the tiles would compute less.
The exact tiler (tiler.py) then cuts the image into that plan.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..capabilities import kept_pixels
from ..numbers import TILE, optional

if TYPE_CHECKING:
    from ..cards import Card
    from ..interfaces import Backend, Runner
    from ..tile_plan import TilePlanner

DEFAULT_TILE = 256  # the CPU's tile side when neither the user nor the engine names one (cache-friendly)
GPU_TILE, GPU_BATCH = 512, 4  # a GPU's: larger tiles, several at once
BATCH = {"lo": 1, "hi": 4096}


def default_tile(device: str) -> int:
    """Largest tile side when none is given: 256 on CPU (cache-friendly), 512 on a GPU."""
    return GPU_TILE if device.startswith("cuda") else DEFAULT_TILE


def default_batch(device: str) -> int:
    """Tiles per batch when none is given: 1 on CPU (convolutions already use every core), 4 on a GPU."""
    return GPU_BATCH if device.startswith("cuda") else 1


def checked_sizes(tile: Any, batch: Any) -> tuple[int | None, int | None]:
    """(tile_size, batch_size), each None or a whole number in range; checked before `or` turns a 0 into the default."""
    return optional("tile_size", tile, **TILE, text=False), optional("batch_size", batch, **BATCH, text=False)


def for_model(card: Card, backend: Backend, runner: Runner, device: str, tile: int | None,
              batch: int | None) -> tuple[int | None, int, TilePlanner | None]:
    """(tile, batch, per-image planner): the given tile and batch, else the engine's preferences; on the CPU the
    preferred tile is made smaller where that many tiles at once would overrun the memory budget (and fewer run at
    once where even cost.capped_tile's smallest does not fit), from the cached widest feature maps and the engine's
    working-set factor (Backend.working_set); the planner then grows it for an image that leaves the room: to the
    whole image up to the side whose one tile fits 4096²'s memory (cost.whole_image_side), and, unless the batch
    was given, to larger tiles (one at a time where the runner gathers image-wide SE statistics, concurrent
    otherwise)."""
    preferred = runner.preferred_tile
    # GPU memory is another budget, and a runner without a preference (torch) keeps the device default
    if tile or device != "cpu" or not preferred:
        return tile or preferred, batch or runner.preferred_batch, None
    from ..cost import cached_cost, capped_tile, fitting_workers, whole_image_side, working_set
    from ..registry import get_registry
    from ..tile_plan import TilePlanner

    arch = get_registry().architecture(card.architecture)
    # keep=False: loading writes nothing ($ZOO_HOME/costs.json is written by zoo info/list); absent in a foreign entry
    widest = cached_cost(arch, card.hyperparameters, keep=False).get("widest_layers")
    if not widest:
        return preferred, batch or runner.preferred_batch, None
    geo, factor = arch.geometry(card.hyperparameters), working_set(backend, card)
    context, given = geo.context, batch
    batch = batch or fitting_workers(preferred, widest, workers=runner.preferred_batch, context=context, factor=factor)
    tile = capped_tile(preferred, widest, workers=batch, context=context, factor=factor)
    planner = TilePlanner(widest, preferred, geo.scale, context, factor, kept_pixels=kept_pixels(runner),
                          whole_image=whole_image_side(widest, factor, geo.scale), resize=not given)
    return tile, batch, planner


def layout(h: int, w: int, *, given: int | None, tile: int | None, batch: int | None, device: str,
           planner: TilePlanner | None, gathers: bool) -> tuple[int, int]:
    """(tile, batch) for an h×w image: `given` (a tile named for this image) as it is, else the model's `tile`
    (None: the device's default), grown by the planner where the image leaves the room and the tiles would compute
    less; `gathers`: the runner gathers image-wide statistics (larger tiles then run one at a time)."""
    side, count = int(given or tile or default_tile(device)), int(batch or default_batch(device))
    if given or max(h, w) <= side or planner is None:
        return side, count
    return planner.layout(h, w, side, count, gathers=gathers)
