"""The built-in corpus `debian-art`: Ren'Py's demo illustrations (Expat) and curated, rendered Open Clip Art
(public domain), both from Debian packages any machine here can fetch."""
from __future__ import annotations

import hashlib
import re
import warnings
from pathlib import Path
from typing import Iterator

from . import BuildContext, DatasetSpec, Item, Source
from .debian import DataSourceError, inside, unpack
from .svg import MAX_SVG_BYTES, RESVG_PY, Renderer, SvgError, renderer_problem

RENPY, CLIPART = "renpy-demo", "openclipart-svg"
LICENSES = {
    RENPY: "Expat (MIT), per Debian's copyright file for renpy-demo",
    CLIPART: "public domain (Creative Commons Public Domain Dedication), per Debian's copyright file",
}
RENPY_IMAGES = "usr/share/games/renpy/demo/game/images"
# Ren'Py image tags that are user-interface parts or screenshots, not illustrations
RENPY_UI = ("bar", "button", "check_foreground", "check_selected_foreground", "hover_background", "idle_background",
            "launcher", "popup", "ninepatch", "imagedissolve", "spotlight", "imagemap volume",
            # photographs, not drawn art: a cave, the White House, Washington, an aerial view (imagemap)
            "bg cave", "bg whitehouse", "bg washington", "imagemap")
RENPY_KINDS = {"eileen": "sprite", "lucy": "sprite", "concert": "scene", "bg panorama": "scene"}
CLIPART_ROOT = "usr/share/openclipart/svg"
# Folders that are not illustrations: 1,378 near-identical spirographs, UI icons, gradients, flags, LEDs, cards.
CLIPART_SKIP = ("shapes/stars", "special/gradients", "special/patterns", "computer/icons", "signs_and_symbols/flags",
                "recreation/games/cards", "signs_and_symbols/led", "signs_and_symbols/map_symbols")
# Illustration-like folders may give more pictures than the rest, so the corpus looks like drawn art.
CLIPART_RICH = ("people", "animals", "plants", "food", "recreation", "unsorted", "buildings", "transportation",
                "decorations", "education", "office", "science", "tools")
PER_FOLDER, PER_RICH_FOLDER = 10, 30
RENDER_SIDES = (768, 1024, 1280)  # long side in pixels: line widths vary as in real art at several sizes
MIN_DETAIL = 0.01  # share of edge pixels below which a rendering is left out as (nearly) blank
MAX_PIXELS = 40_000_000  # of a picture, read from its header before decoding (the panorama: 4.2 million)


def _pick(key: str) -> int:
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)


def _renpy_group(stem: str) -> str:
    """Ren'Py's image tag (first word; 'bg NAME' for backgrounds), digits dropped: variants stay together."""
    words = stem.split() or ["_"]
    tag = " ".join(words[:2]) if words[0] == "bg" else words[0]
    return "renpy:" + re.sub(r"\d+$", "", tag)


def _open_renpy(path: Path, ctx: BuildContext):
    def load():
        from PIL import Image

        too_big = f"over {MAX_PIXELS // 1_000_000} million pixels"
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own limit is lower
                im = Image.open(path)
        except Image.DecompressionBombError:
            ctx.skip(too_big)
            return None
        except (OSError, ValueError, SyntaxError, EOFError):
            ctx.skip("unreadable")
            return None
        try:
            with im:
                if im.width * im.height > MAX_PIXELS:  # from the header: a small file can decode to gigabytes
                    ctx.skip(too_big)
                    return None
                if im.mode in ("1", "L", "LA", "I", "F"):
                    ctx.skip("grey mask, not a picture")
                    return None
                return im.convert("RGBA") if im.mode in ("P", "RGBA", "LA") else im.convert("RGB")
        except (OSError, ValueError, SyntaxError, EOFError):
            ctx.skip("unreadable")
            return None

    return load


def renpy_items(ctx: BuildContext) -> Iterator[Item]:
    """Every picture in the Ren'Py demo's images folder (UI bits and masks are filtered later)."""
    pkg = unpack(RENPY, ctx.cache)
    src = Source(package=RENPY, version=pkg.version, license=LICENSES[RENPY])
    folder = pkg.root / RENPY_IMAGES
    if folder.is_symlink() or not folder.is_dir():
        raise DataSourceError(f"Debian package {RENPY} {pkg.version} has no folder {RENPY_IMAGES}; zoo knows where "
                              "the images are only in Debian's own package. Fix: use Debian's .deb (apt-get download "
                              f"{RENPY} on Debian) or delete the one in {ctx.cache}.")
    for path in sorted(folder.iterdir()):
        if not inside(pkg.root, path):
            continue  # a link out of the package or to a FIFO is never read (the unpacker does not make them)
        if path.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp") and not path.stem.startswith(RENPY_UI):
            group = _renpy_group(path.stem)
            yield Item(name=f"renpy-{path.stem}", group=group, kind=RENPY_KINDS.get(group[6:], "other"), source=src,
                       file=str(path.relative_to(pkg.root)), load=_open_renpy(path, ctx))


def _chosen_svgs(root: Path) -> list[Path]:
    """Curated Open Clip Art: skip non-illustration folders, cap each folder, pick deterministically."""
    by_folder: dict[str, list[Path]] = {}
    for path in sorted(root.rglob("*.svg")):
        folder = path.parent.relative_to(root).as_posix()
        if not folder.startswith(CLIPART_SKIP) and inside(root, path):
            by_folder.setdefault(folder, []).append(path)
    chosen = []
    for folder, paths in sorted(by_folder.items()):
        cap = PER_RICH_FOLDER if folder.split("/")[0] in CLIPART_RICH else PER_FOLDER
        chosen += sorted(paths, key=lambda p: _pick(p.name))[:cap]
    return chosen


def _render(svg: Path, side: int, ctx: BuildContext, renderer: Renderer):
    def load():
        try:
            with open(svg, "rb") as f:
                data = f.read(MAX_SVG_BYTES + 1)
            img = renderer.render(data, side)
        except SvgError as exc:
            ctx.skip(str(exc))
            return None
        except OSError:
            ctx.skip("unreadable")
            return None
        box = img.getchannel("A").point(lambda a: 255 if a > 8 else 0).getbbox()
        if box is None:
            ctx.skip("SVG renders empty")
            return None
        pad = 8  # keep a little background around the drawing, as in a picture
        img = img.crop((max(0, box[0] - pad), max(0, box[1] - pad), min(img.width, box[2] + pad),
                        min(img.height, box[3] + pad)))
        if _detail(img) < MIN_DETAIL:
            ctx.skip("too little detail")
            return None
        return img

    return load


def _detail(img) -> float:
    """Share of pixels on an edge (grey gradient above 24 levels), after flattening over white."""
    import numpy as np
    from PIL import Image

    flat = Image.alpha_composite(Image.new("RGBA", img.size, (255, 255, 255, 255)), img).convert("L")
    a = np.asarray(flat, dtype=np.int16)
    gx, gy = np.abs(np.diff(a, axis=1))[:-1, :], np.abs(np.diff(a, axis=0))[:, :-1]
    return float(((gx + gy) > 24).mean()) if a.size > 4 else 0.0


def clipart_items(ctx: BuildContext) -> Iterator[Item]:
    """Curated SVGs, each rendered once at one of RENDER_SIDES (chosen by its name's hash)."""
    problem = renderer_problem()
    if problem:
        raise DataSourceError(f"Cannot render the Open Clip Art SVGs: {problem}")
    pkg = unpack(CLIPART, ctx.cache)
    src = Source(package=CLIPART, version=pkg.version, license=LICENSES[CLIPART])
    root = pkg.root / CLIPART_ROOT
    if root.is_symlink() or not root.is_dir():
        raise DataSourceError(f"Debian package {CLIPART} {pkg.version} has no folder {CLIPART_ROOT}. Fix: use "
                              f"Debian's .deb (apt-get download {CLIPART} on Debian) or delete the one in {ctx.cache}.")
    renderer = Renderer()
    ctx.on_close(renderer.close)
    for svg in _chosen_svgs(root):
        rel = svg.relative_to(root).as_posix()
        side = RENDER_SIDES[_pick(rel) % len(RENDER_SIDES)]
        group = "clipart:" + re.sub(r"[_-]?\d+$", "", rel[:-4])  # numbered variants of one drawing stay together
        yield Item(name="clipart-" + rel[:-4].replace("/", "-"), group=group, source=src,
                   file=str(svg.relative_to(pkg.root)), load=_render(svg, side, ctx, renderer))


def debian_art_items(ctx: BuildContext) -> Iterator[Item]:
    """Ren'Py demo pictures, then rendered clip art."""
    yield from renpy_items(ctx)
    yield from clipart_items(ctx)


DEBIAN_ART = DatasetSpec(
    name="debian-art",
    description="Ren'Py demo illustrations (Debian renpy-demo, Expat) and curated Open Clip Art rendered with "
                "resvg (Debian openclipart-svg, public domain); split by source picture.",
    items=debian_art_items,
    version=f"3+resvg-py-{RESVG_PY}",  # the renderer makes the pixels: a new pin is a new corpus
    val_fraction=0.2,
    min_side=128,
)
