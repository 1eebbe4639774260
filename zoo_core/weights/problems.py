"""The one error the weight sources share: a wrong setting stops the search at once (no other source would help)."""
from __future__ import annotations

from ..errors import FetchError


class SettingError(FetchError):
    """An environment variable or card field that is wrong in itself (ZOO_HUB_REPO, weights.filename…)."""
