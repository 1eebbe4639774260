"""A contact sheet of a corpus: thumbnails spread over its sources, for docs and a quick look."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from PIL import Image

THUMB, COLUMNS = 160, 8


def contact_sheet(entries: Sequence[tuple[Path, str]], count: int) -> Image.Image:
    """`count` thumbnails taken in turn from each source package, evenly spread within it."""
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
    rows = -(-len(picked) // COLUMNS)
    sheet = Image.new("RGB", (COLUMNS * THUMB, max(1, rows) * THUMB), (40, 40, 40))
    for n, path in enumerate(picked):
        with Image.open(path) as im:
            im = im.convert("RGB")
            im.thumbnail((THUMB - 4, THUMB - 4), Image.Resampling.LANCZOS)
        x, y = (n % COLUMNS) * THUMB, (n // COLUMNS) * THUMB
        sheet.paste(im, (x + (THUMB - im.width) // 2, y + (THUMB - im.height) // 2))
    return sheet
