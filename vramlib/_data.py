"""Reading the JSON data files shipped inside the package (read on first use, never at import)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

#: the package's data folder (plain files: vramlib is never imported from a zip archive,
#: and reading them directly spares ``importlib.resources``' imports at start-up)
DATA = Path(__file__).resolve().parent / "data"


@lru_cache(maxsize=None)
def load(name: str) -> dict:
    """The parsed contents of ``vramlib/data/<name>`` (cached; callers must not mutate it)."""
    return json.loads((DATA / name).read_text(encoding="utf-8"))
