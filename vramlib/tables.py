"""Plain-text and Markdown tables, for notebooks (rendered Markdown) and the command line."""
from __future__ import annotations

from typing import Iterable, Sequence

from . import _check


def _cells(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> tuple[list[str], list[list[str]]]:
    head = [str(h) for h in _check.sequence("headers", headers, "column names")]
    body = [
        [str(c) for c in _check.sequence(f"rows[{i}]", row, "cells")]
        for i, row in enumerate(_check.sequence("rows", rows, "rows"))
    ]
    for i, row in enumerate(body):
        if len(row) != len(head):
            raise ValueError(f"rows[{i}] has {len(row)} cells, headers has {len(head)}")
    return head, body


def _align(align: object, head: list[str]) -> str:
    """One of l, r, c per column (default: left for the first, right for the rest)."""
    if align == "":
        return "l" + "r" * (len(head) - 1)
    if not isinstance(align, str):
        raise TypeError(
            f"align must be a string of l, r or c per column, got "
            f"{type(align).__name__} {_check.shown(align)}"
        )
    if len(align) != len(head) or set(align) - set("lrc"):
        raise ValueError(
            f"align must hold one of l, r or c for each of the {len(head)} columns, "
            f"got {_check.shown(align)}"
        )
    return align


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[object]], align: str = "") -> str:
    """A GitHub/MyST Markdown table. ``align`` has one letter per column: ``l``, ``r`` or ``c``
    (default: left for the first column, right for the rest)."""
    head, body = _cells(headers, rows)
    align = _align(align, head)
    marks = {"l": ":--", "r": "--:", "c": ":-:"}
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(marks[a] for a in align) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(lines)


def text_table(headers: Sequence[str], rows: Iterable[Sequence[object]], align: str = "") -> str:
    """A fixed-width table for terminals: first column left-aligned, the rest right-aligned."""
    head, body = _cells(headers, rows)
    align = _align(align, head)
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]

    def line(r: list[str]) -> str:
        return "  ".join(c.ljust(w) if a == "l" else c.rjust(w) for c, w, a in zip(r, widths, align)).rstrip()

    return "\n".join([line(head), "  ".join("-" * w for w in widths), *(line(r) for r in body)])
