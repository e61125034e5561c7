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


def overhead_constants() -> dict[str, dict]:
    """The constants of the estimate's overhead model, each with its source
    (``vramlib/data/overhead.json``): ``cuda_context_bytes`` and ``allocator_fraction`` as
    ``{"value": ..., "source": ...}``, and ``activation_model`` (its coefficients and source)."""
    data = _data.load("overhead.json")
    return {k: dict(v) for k, v in data.items() if not k.startswith("_")}
