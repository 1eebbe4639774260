"""Built-in trainer callbacks: a progress bar (or log lines when not on a terminal) and a JSONL log."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from .trainer import TrainState


class ProgressCallback:
    """tqdm bar with loss, PSNR and samples/s on a terminal; a line every `every` steps otherwise."""

    def __init__(self, *, total: int, every: int = 50, stream: TextIO | None = None) -> None:
        self.every, self.stream, self.bar = max(1, every), stream or sys.stderr, None
        if self.stream.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, file=self.stream, dynamic_ncols=True)
        self.started = False

    def on_step(self, state: TrainState) -> None:
        post = {"loss": f"{state.loss:.5f}", "psnr": f"{state.psnr:.2f}", "samples/s": f"{state.samples_per_s:.1f}"}
        if self.bar is not None:
            if not self.started:
                self.bar.n = state.step - 1
                self.started = True
            self.bar.update(1)
            self.bar.set_postfix(post, refresh=False)
        elif state.step % self.every == 0:
            text = " ".join(f"{k} {v}" for k, v in post.items())
            print(f"step {state.step}/{state.steps} lr {state.lr:.2e} {text}", file=self.stream, flush=True)

    def on_validate(self, state: TrainState, result: dict[str, float]) -> None:
        msg = (f"validate step {state.step}: PSNR-Y {result['psnr_y']:.2f} dB, bicubic "
               f"{result['bicubic_psnr_y']:.2f} dB, gain {result['gain_db']:+.2f} dB")
        extra = ", ".join(f"{k[8:]} {v:+.2f}" for k, v in result.items() if k.startswith("gain_db/"))
        self._write(msg + (f" ({extra})" if extra else ""))

    def on_checkpoint(self, state: TrainState, path: Path) -> None:
        self._write(f"checkpoint {path}")

    def on_end(self, state: TrainState) -> None:
        if self.bar is not None:
            self.bar.close()

    def _write(self, msg: str) -> None:
        if self.bar is not None:
            self.bar.write(msg, file=self.stream)
        else:
            print(msg, file=self.stream, flush=True)


class JsonlLogCallback:
    """Appends one JSON object per logged step / validation to run_dir/log.jsonl."""

    def __init__(self, path: Path, every: int = 50) -> None:
        self.path, self.every = Path(path), max(1, every)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def _append(self, record: dict[str, Any]) -> None:
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"time": round(time.time(), 1), **record}) + "\n")

    def on_step(self, state: TrainState) -> None:
        if state.step % self.every == 0:
            self._append({"step": state.step, "loss": state.loss, "psnr": state.psnr,
                          "samples_per_s": state.samples_per_s, "lr": state.lr})

    def on_validate(self, state: TrainState, result: dict[str, float]) -> None:
        self._append({"step": state.step, "validate": result})
