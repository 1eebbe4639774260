"""Which reduced precisions this CPU runs natively, read from the kernel's CPU flags (no torch import).

bf16 on a CPU without AVX512-BF16 or AMX-BF16 is emulated by PyTorch and 10–20× slower than fp32
(docs/precision.md), so zoo offers `--precision bf16` on the CPU only where one of those flags is present.
"""
from __future__ import annotations

from pathlib import Path

from .errors import ZooError

CPUINFO = Path("/proc/cpuinfo")
BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # oneDNN's native bf16 convolution kernels need one of these


class PrecisionUnavailable(ZooError):
    """A reduced precision was asked for on a CPU that would only emulate it."""


def cpu_flags(cpuinfo: Path = CPUINFO) -> frozenset[str]:
    """The first CPU's `flags` line as a set; empty where /proc/cpuinfo is absent (not Linux) or unreadable."""
    try:
        text = cpuinfo.read_text(encoding="ascii", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):  # x86, arm64
            return frozenset(value.split())
    return frozenset()


def native_bf16(flags: frozenset[str] | None = None) -> bool:
    """True when the CPU has bf16 arithmetic (AVX512-BF16 or AMX-BF16)."""
    return any(f in (cpu_flags() if flags is None else flags) for f in BF16_FLAGS)


def check_precision(device: str, precision: str, flags: frozenset[str] | None = None) -> None:
    """Refuse bf16 on a CPU without native bf16, in one line; every other combination passes."""
    if precision != "bf16" or not device.startswith("cpu"):
        return
    flags = cpu_flags() if flags is None else flags
    if not native_bf16(flags):
        seen = "no CPU flags readable" if not flags else "has neither avx512_bf16 nor amx_bf16 in /proc/cpuinfo"
        raise PrecisionUnavailable(
            f"--precision bf16 on this CPU ({seen}): bf16 would be emulated, 10-20x slower than fp32. "
            "Use --precision fp32 (the default), or a CPU with AVX512-BF16/AMX or a GPU.")
