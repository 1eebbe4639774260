"""RRDBNet's reach, torch-free: the registration (zoo list) and the module read the same formula."""
from __future__ import annotations


def context(num_block: int) -> int:
    """Input pixels per side that reach an output pixel: 15 per RRDB + conv_first/conv_body + the 4x tail."""
    return 15 * num_block + 4


def trim(num_block: int) -> int:
    """LR pixels per side the network drops after its trunk (all of the context but the 4x tail's 2)."""
    return context(num_block) - 2
