"""Drive chapter 8's flashcard deck as a reader would: every filter, every card, next and reveal.

The chapter's code cells (all but the setup cell) run in one namespace; then the test sets the topic
and level drop-downs and clicks the buttons of the ipywidgets deck it built.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

import nbformat
import pytest

from vramlib import interview as iv

NOTEBOOK = (
    Path(__file__).resolve().parents[2] / "notebooks" / "08-interview-practice.ipynb"
)


@pytest.fixture(scope="module")
def ui():
    os.environ.setdefault("MPLBACKEND", "Agg")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    assert "pip" in code_cells[0].source, "the first code cell is the setup cell"
    namespace: dict = {}
    for cell in code_cells[1:]:
        exec(
            compile(cell.source, f"{NOTEBOOK.name}[{cell.get('id')}]", "exec"),
            namespace,
        )
    return namespace["deck_ui"]


def shown(ui) -> str:
    return html.unescape(ui.card.value)


def test_every_card_under_every_filter(ui):
    filters = [(t, lv) for t in ["all", *iv.topics()] for lv in ["all", *iv.LEVELS]]
    for topic, level in filters:
        ui.topic.value, ui.level.value = topic, level
        expected = iv.questions(
            None if topic == "all" else topic, None if level == "all" else level
        )
        assert len(ui.deck) == len(expected)
        if not expected:
            assert "No question matches" in shown(ui)
            continue
        seen = set()
        for _ in range(len(expected)):
            question = ui.deck.current
            assert question.text in shown(ui) and "Hint:" in shown(ui)
            ui.buttons["reveal"].click()
            assert iv.answer(question.id).text in shown(ui)
            seen.add(question.id)
            ui.buttons["next"].click()
        assert seen == {q.id for q in expected}
    ui.topic.value, ui.level.value = "all", "all"


def test_shuffle_with_a_fixed_seed_is_repeatable(ui):
    ui.seed.value = 5
    ui.buttons["shuffle"].click()
    first = ui.deck.ids
    ui.buttons["in order"].click()
    assert ui.deck.ids == tuple(q.id for q in iv.questions())
    ui.buttons["shuffle"].click()
    assert ui.deck.ids == first and sorted(first) == sorted(
        q.id for q in iv.questions()
    )
    ui.buttons["previous"].click()
    assert ui.deck.position == len(first) - 1 and shown(ui).strip()
