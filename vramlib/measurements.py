"""The measurements the book holds the estimates against, and the overhead constants they check.

``tools/measure.py`` builds a model from its config, runs a prefill and some decode steps, and
appends one row of measured bytes (with vramlib's prediction beside them) to a CSV in
``vramlib/data/measurements/`` (``cpu.csv``, ``gpu.csv``); the columns are described in that
folder's README. The files ship with the package, so a chapter reads them the same way in a
checkout and in Colab. The chapter :ref:`ch-how-good` reads them through :func:`load_measurements`.
"""

from __future__ import annotations

import csv
import io
from importlib.resources import files

from . import _check, _data

MEASUREMENT_FILES = ("cpu.csv", "gpu.csv")


def load_measurements(
    names: "tuple[str, ...] | list[str]" = MEASUREMENT_FILES,
) -> tuple[list[dict[str, str]], dict[str, int]]:
    """The rows of the named measurement files, in order, and how many rows each held (0 for a
    file not committed yet). Values are the CSV's strings; an empty cell is a figure the run's
    device does not measure.

    >>> rows, counts = load_measurements(["cpu.csv"])
    >>> counts["cpu.csv"] == len(rows) > 0
    True
    """
    if isinstance(names, str) or not isinstance(names, (list, tuple)):
        raise TypeError(
            f"names must be a list of file names such as {list(MEASUREMENT_FILES)}, "
            f"got {_check.shown(names)}"
        )
    folder = files("vramlib") / "data" / "measurements"
    rows: list[dict[str, str]] = []
    counts: dict[str, int] = {}
    for name in names:
        if name not in MEASUREMENT_FILES:
            raise _check.unknown(
                "names", name, MEASUREMENT_FILES, what="measurement file"
            )
        path = folder / name
        got = (
            list(csv.DictReader(io.StringIO(path.read_text("utf-8"))))
            if path.is_file()
            else []
        )
        counts[name] = len(got)
        rows += got
    return rows, counts


def published_checkpoints() -> list[dict]:
    """Published checkpoints whose byte counts are known
    (``vramlib/data/checkpoints/published_sizes.json``): each entry's config as
    published, the pages it and its sizes were read from, and either the
    ``total_size`` of its safetensors index (``kind`` ``"index"``: the tensors' bytes)
    or its files' sizes (``kind`` ``"files"``: tensors plus headers)."""
    return _data.load("checkpoints/published_sizes.json")["entries"]


def published_size_rows() -> list[dict]:
    """One row per checkpoint with an index: its id, the precision vramlib reads from
    its config (``"as published: ..."``), the index's ``total_size`` and the bytes
    vramlib counts for the same config, as in :func:`vramlib.estimate`'s default.

    >>> rows = published_size_rows()
    >>> gpt_oss = next(r for r in rows if r["id"] == "openai/gpt-oss-20b")
    >>> gpt_oss["counted_bytes"] == gpt_oss["total_size"]
    True
    """
    from .checkpoint.dtypes import VRAMLIB_NAME
    from .checkpoint.source import (
        Checkpoint,
        counted_bytes,
        published_for,
        with_checkpoint,
    )
    from .models import ModelSpec

    rows = []
    for entry in published_checkpoints():
        if entry["kind"] != "index":
            continue
        cfg = entry["config"]
        spec = with_checkpoint(
            ModelSpec.from_hf_config(cfg, name=entry["id"]),
            Checkpoint.from_config(cfg, entry["source_config"]),
        )
        w = published_for(spec)
        rows.append(
            dict(
                id=entry["id"],
                model_type=cfg["model_type"],
                precision=w.label if w else VRAMLIB_NAME[spec.checkpoint.dtype],
                total_size=entry["total_size"],
                counted_bytes=counted_bytes(spec),
            )
        )
    return rows


def overhead_constants() -> dict[str, dict]:
    """The constants of the estimate's overhead model, each with its source
    (``vramlib/data/overhead.json``): ``cuda_context_bytes`` and ``allocator_fraction`` as
    ``{"value": ..., "source": ...}``, and ``activation_model`` (its coefficients and source)."""
    data = _data.load("overhead.json")
    return {k: dict(v) for k, v in data.items() if not k.startswith("_")}
