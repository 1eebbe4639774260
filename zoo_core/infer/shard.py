"""torchrun, for `zoo upscale` and `zoo train`: this process's rank, joining the group; upscale's share of files."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Sequence, TypeVar

import torch

T = TypeVar("T")


@dataclass(frozen=True)
class Rank:
    """This process's place among `world` processes (1 when not launched by torchrun)."""

    rank: int
    world: int
    local_rank: int

    @property
    def distributed(self) -> bool:
        """Whether more than one process shares the work."""
        return self.world > 1


def from_env() -> Rank:
    """Read RANK / WORLD_SIZE / LOCAL_RANK as torchrun sets them."""
    world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    rank = int(os.environ.get("RANK", "0") or 0)
    return Rank(rank, max(1, world), int(os.environ.get("LOCAL_RANK", str(rank)) or 0))


def join(me: Rank, backend: str) -> None:
    """Join torchrun's process group once (gloo or nccl); nothing for a single process."""
    if me.distributed:
        import torch.distributed as dist

        if not dist.is_initialized():
            dist.init_process_group(backend=backend)


def shard(items: Sequence[T], me: Rank) -> list[T]:
    """Round-robin share of `items` (the list is the same, sorted, in every process)."""
    return list(items[me.rank::me.world])


def device_for(device: str, me: Rank) -> str:
    """One GPU per local rank when several processes run on one machine."""
    if me.distributed and device in ("cuda", "auto") and torch.cuda.is_available():
        return f"cuda:{me.local_rank % torch.cuda.device_count()}"
    return device


class Group:
    """A process group (gloo on CPU, nccl on GPU) used only to add up the failures at the end."""

    def __init__(self, me: Rank, device: str) -> None:
        self.me = me
        self.dist = None
        if me.distributed:
            import torch.distributed as dist

            backend = "nccl" if device.startswith("cuda") else "gloo"
            join(me, backend)
            self.dist = dist
            self.device = device if backend == "nccl" else "cpu"

    def total(self, count: int) -> int:
        """The sum of `count` over every process (just `count` alone)."""
        if self.dist is None:
            return count
        t = torch.tensor([count], dtype=torch.int64, device=self.device)
        self.dist.all_reduce(t)
        return int(t.item())

    def close(self) -> None:
        """Leave the group."""
        if self.dist is not None and self.dist.is_initialized():
            self.dist.destroy_process_group()
