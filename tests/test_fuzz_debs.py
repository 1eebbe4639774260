"""Issue 25: seeded mutations (cuts and byte flips) of .deb files, in the style of test_fuzz_decoders.py.
Every damaged package is one DataSourceError, never another exception, a hang, or a file outside the cache.
ZOO_FUZZ_CASES raises the number of mutants per compression (CI)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from deb_helpers import link, make_deb, tree
from zoo_core.data import debian
from zoo_core.data.debian import DataSourceError, unpack

CASES = int(os.environ.get("ZOO_FUZZ_CASES", "24"))


def mutants(data: bytes, seed: int) -> list[bytes]:
    """Cuts anywhere; one to three flipped bytes, often in the ar and tar headers, where the parsers branch."""
    rng = np.random.default_rng(seed)
    out = [data[:int(n)] for n in rng.integers(1, len(data), CASES)]
    for _ in range(CASES):
        b = bytearray(data)
        for _ in range(int(rng.integers(1, 4))):
            at = int(rng.integers(0, min(len(b), 200))) if rng.random() < 0.6 else int(rng.integers(0, len(b)))
            b[at] = int(rng.integers(0, 256))
        out.append(bytes(b))
    return out


@pytest.mark.slow
def test_mutated_debs_only_ever_give_data_source_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    members = tree({"usr/share/x/a.txt": b"alpha" * 50, "usr/share/x/b.png": bytes(range(256)) * 4}) + \
        [link("usr/share/x/c.png", "b.png")]
    bad: list[str] = []
    for i, compression in enumerate(("xz", "gz", "")):
        good = make_deb(tmp_path / "src", "p", members, compression=compression).read_bytes()
        for j, mutant in enumerate(mutants(good, seed=i)):
            debs, cache = tmp_path / f"d{i}-{j}", tmp_path / f"c{i}-{j}"
            debs.mkdir()
            (debs / "p_9.9-1_all.deb").write_bytes(mutant)
            monkeypatch.setenv("ZOO_DEBS", str(debs))
            try:
                root = unpack("p", cache).root
                assert all(debian.inside(root, p) or p.is_dir() or p.is_symlink() for p in root.rglob("*"))
            except DataSourceError as exc:
                assert "\n" not in str(exc)
            except Exception as exc:  # noqa: BLE001 - collect every escape, report them all
                bad.append(f"{compression or 'tar'} #{j}: {type(exc).__name__}: {exc}")
            escaped = [p for p in tmp_path.iterdir() if p.name not in ("src",) and not p.name.startswith(("d", "c"))]
            assert not escaped, escaped
    assert not bad, "\n".join(bad[:20])
