"""A contact sheet of a corpus: thumbnails spread over its sources, for docs and a quick look."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from PIL import Image

THUMB, COLUMNS = 160, 8
MAX_PIXELS = 40_000_000  # a corpus picture larger than this is not zoo's: skipped before decoding


def _thumb(path: Path) -> Image.Image | None:
    """A thumbnail, or None for a picture that is missing, damaged or too large."""
    try:
        with Image.open(path) as im:
            if im.width * im.height > MAX_PIXELS:
                return None
            im = im.convert("RGB")
            im.thumbnail((THUMB - 4, THUMB - 4), Image.Resampling.LANCZOS)
            return im
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError):
        return None


def contact_sheet(entries: Sequence[tuple[Path, str]], count: int) -> tuple[Image.Image, int, int]:
    """`count` thumbnails taken in turn from each source package, evenly spread within it.

    Returns the sheet, the number of pictures on it and the number left out as unreadable."""
    by_source: dict[str, list[Path]] = {}
    for path, pkg in sorted(entries):
        by_source.setdefault(pkg, []).append(path)
    picked: list[Path] = []
    lists = [sorted(v) for v in by_source.values()]
    step = [max(1, len(v) * len(lists) // max(1, count)) for v in lists]
    i = 0
    while len(picked) < min(count, len(entries)):
        for k, files in enumerate(lists):
            j = i * step[k]
            if j < len(files) and len(picked) < count:
                picked.append(files[j])
        i += 1
        if all(i * step[k] >= len(files) for k, files in enumerate(lists)):
            break
    thumbs = [t for t in map(_thumb, picked) if t is not None]
    rows = -(-len(thumbs) // COLUMNS)
    sheet = Image.new("RGB", (COLUMNS * THUMB, max(1, rows) * THUMB), (40, 40, 40))
    for n, im in enumerate(thumbs):
        x, y = (n % COLUMNS) * THUMB, (n // COLUMNS) * THUMB
        sheet.paste(im, (x + (THUMB - im.width) // 2, y + (THUMB - im.height) // 2))
    return sheet, len(thumbs), len(picked) - len(thumbs)
