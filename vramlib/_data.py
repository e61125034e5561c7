"""Reading the JSON data files shipped inside the package (read on first use, never at import)."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=None)
def load(name: str) -> dict:
    """The parsed contents of ``vramlib/data/<name>`` (cached; callers must not mutate it)."""
    return json.loads(
        resources.files("vramlib")
        .joinpath("data")
        .joinpath(name)
        .read_text(encoding="utf-8")
    )
