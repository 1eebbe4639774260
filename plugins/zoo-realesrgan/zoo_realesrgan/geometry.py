"""RRDBNet's reach, torch-free: the registration (zoo list) and the module read the same formula."""
from __future__ import annotations


def context(num_block: int, unshuffle: int = 1) -> int:
    """Input pixels per side that reach an output pixel: 15 per RRDB + conv_first/conv_body + the tail's 2, per
    feature pixel (an unshuffled input's feature pixel is `unshuffle` input pixels)."""
    return (15 * num_block + 4) * unshuffle


def trim(num_block: int) -> int:
    """Feature pixels per side the network drops after its trunk (all of the context but the tail's 2)."""
    return 15 * num_block + 2
