"""Execute the book's notebooks in place, top to bottom in a fresh kernel, and store them tidy.

    python tools/run_notebooks.py                      # every chapter and the cheat sheet
    python tools/run_notebooks.py notebooks/03-kv-cache.ipynb

Each notebook runs with its own folder as the working directory (as the book build and nbval
run it). Afterwards the execution timestamps nbclient writes into each cell's metadata are
removed, so a committed notebook changes only where its code or outputs changed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def notebooks() -> list[Path]:
    return sorted(ROOT.glob("notebooks/*.ipynb")) + sorted(ROOT.glob("book/*.ipynb"))


def tidy(nb: dict) -> dict:
    """The notebook without execution timestamps (cell metadata ``execution``)."""
    for cell in nb["cells"]:
        cell.get("metadata", {}).pop("execution", None)
    return nb


def execute(path: Path, timeout: int = 900) -> None:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    data = tidy(json.loads(nbformat.writes(nb)))
    path.write_text(
        json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, help="notebooks (default: all)")
    args = parser.parse_args(argv)
    for path in args.paths or notebooks():
        print(f"executing {path}", flush=True)
        execute(path.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
