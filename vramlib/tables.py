"""Plain-text and Markdown tables, for notebooks (rendered Markdown) and the command line."""
from __future__ import annotations

from typing import Iterable, Sequence


def _cells(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> tuple[list[str], list[list[str]]]:
    head = [str(h) for h in headers]
    body = [[str(c) for c in row] for row in rows]
    for i, row in enumerate(body):
        if len(row) != len(head):
            raise ValueError(f"rows[{i}] has {len(row)} cells, headers has {len(head)}")
    return head, body


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[object]], align: str = "") -> str:
    """A GitHub/MyST Markdown table. ``align`` has one letter per column: ``l``, ``r`` or ``c``
    (default: left for the first column, right for the rest)."""
    head, body = _cells(headers, rows)
    align = align or "l" + "r" * (len(head) - 1)
    marks = {"l": ":--", "r": "--:", "c": ":-:"}
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(marks[a] for a in align) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(lines)


def text_table(headers: Sequence[str], rows: Iterable[Sequence[object]], align: str = "") -> str:
    """A fixed-width table for terminals: first column left-aligned, the rest right-aligned."""
    head, body = _cells(headers, rows)
    align = align or "l" + "r" * (len(head) - 1)
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]

    def line(r: list[str]) -> str:
        return "  ".join(c.ljust(w) if a == "l" else c.rjust(w) for c, w, a in zip(r, widths, align)).rstrip()

    return "\n".join([line(head), "  ".join("-" * w for w in widths), *(line(r) for r in body)])
