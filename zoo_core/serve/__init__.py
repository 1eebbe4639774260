"""`zoo serve`: a local web page to upscale by drag-and-drop, with a before/after comparison.

Needs the optional dependencies of `zoo-core[serve]` (Starlette, uvicorn, python-multipart).
"""
from __future__ import annotations

from .jobs import Limits

__all__ = ["Limits"]
