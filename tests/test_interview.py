"""The interview bank: every answer computes and renders, and spot checks against hand arithmetic."""
from __future__ import annotations

import math
import re

import pytest

from vramlib import _data
from vramlib import interview as iv

QUESTIONS = iv.questions()
IDS = [q.id for q in QUESTIONS]
REQUIRED_TOPICS = {"rule-of-thumb", "units", "weights", "kv-cache", "attention-variants", "moe",
                   "sliding-window", "multi-gpu", "batching", "quantization", "decode-speed", "training"}


def test_bank_size_ids_levels_topics():
    assert len(QUESTIONS) >= 30
    assert len(set(IDS)) == len(IDS)
    assert {q.level for q in QUESTIONS} == set(iv.LEVELS)
    assert {q.topic for q in QUESTIONS} <= set(iv.topics())
    assert REQUIRED_TOPICS <= {q.topic for q in QUESTIONS}
    assert all(q.compute in iv.COMPUTE for q in QUESTIONS)
    levels = [iv.LEVELS.index(q.level) for q in QUESTIONS]
    assert levels == sorted(levels), "graded warm-up to senior"


@pytest.mark.parametrize("qid", IDS)
def test_every_answer_computes_and_renders(qid):
    q = iv.get_question(qid)
    a = iv.answer(qid)
    assert set(iv.placeholders(q.answer_template)) <= set(a.values)
    for text in (q.text, a.text):
        assert text.strip() and "{" not in text and "}" not in text
        assert not re.search(r"\b(nan|inf)\b", text, re.IGNORECASE)
    assert all(not (isinstance(v, float) and not math.isfinite(v)) for v in a.values.values())
    assert q.hint.strip()


@pytest.mark.parametrize("qid", IDS)
def test_no_number_is_typed_into_answers_or_hints(qid):
    q = iv.get_question(qid)
    assert iv.typed_numbers(q.answer_template) == []
    assert iv.typed_numbers(q.hint) == []


def test_typed_numbers_finds_digits_outside_placeholders():
    assert iv.typed_numbers("{x:,.1f} GB, about 140 GB") == ["140"]
    assert iv.typed_numbers("{x:.2f} of {y}") == []


def test_spot_checks_against_hand_arithmetic():
    v = iv.answer("rule-70b").values
    assert v["weights_gb"] == 70e9 * 2 / 1e9 and v["total_gb"] == pytest.approx(70 * 2 * 1.2)
    assert iv.answer("gib-factor").values["ratio"] == 2**30 / 10**9
    assert iv.answer("kv-per-token-8b").values["per_token_bytes"] == 2 * 32 * 8 * 128 * 2
    assert iv.answer("training-16").values["bytes_per_param"] == 2 + 2 + 4 + 4 + 4
    assert iv.answer("tp-divisible").values["valid"] == "1, 2, 4, 8"       # 64 heads, 8 KV heads
    assert iv.answer("gqa-savings").values["factor"] == 64 // 8
    assert iv.answer("mla-deepseek").values["latent_elems"] == 512 + 64
    assert iv.answer("q8-bits").values["bits"] == 34 * 8 / 32
    s = iv.answer("sliding-mistral").values   # every layer keeps 4096 of 32768 tokens
    assert s["kv_gib"] == 2 * 32 * 8 * 128 * 2 * 4096 / 2**30


def test_filters():
    for topic in iv.topics():
        assert all(q.topic == topic for q in iv.questions(topic=topic))
    for level in iv.LEVELS:
        assert iv.questions(level=level) and all(q.level == level for q in iv.questions(level=level))
    assert sum(len(iv.questions(level=lv)) for lv in iv.LEVELS) == len(QUESTIONS)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="Did you mean 'rule-70b'"):
        iv.answer("rule-70")
    with pytest.raises(ValueError, match="unknown topic"):
        iv.questions(topic="kv")
    with pytest.raises(ValueError, match="Did you mean 'senior'"):
        iv.questions(level="senor")
    with pytest.raises(TypeError, match="question_id"):
        iv.answer(3)


def test_bank_markdown_has_toggles_for_every_question():
    text = iv.bank_markdown()
    assert text.count('<details class="interview-answer">') == len(QUESTIONS)
    assert text.count('<details class="interview-hint">') == len(QUESTIONS)
    assert "{" not in text


def test_deck_cycles_reveals_and_shuffles():
    deck = iv.Deck.build()
    seen = []
    for _ in range(len(deck)):
        assert deck.front() and deck.back().startswith("Hint:")
        revealed = deck.reveal()
        assert revealed.back() == iv.answer(deck.current.id).text
        seen.append(deck.current.id)
        deck = revealed.next()
    assert sorted(seen) == sorted(IDS) and deck.position == 0
    assert deck.previous().position == len(deck) - 1
    a, b = iv.Deck.build(seed=3), iv.Deck.build(seed=3)
    assert a.ids == b.ids and sorted(a.ids) == sorted(IDS) and a.ids != iv.Deck.build().ids
    assert a.shuffle(None).ids == iv.Deck.build().ids
    senior = a.filter(level="senior")
    assert senior.seed == 3 and {iv.get_question(i).level for i in senior.ids} == {"senior"}
    empty = iv.Deck.build(topic="units", level="senior")
    assert len(empty) == 0 and "No question" in empty.front() and empty.next().front()
    with pytest.raises(ValueError, match="seed"):
        iv.Deck.build(seed=-1)


def test_data_file_entries_are_complete():
    bank = _data.load("questions.json")
    assert bank["levels"] == list(iv.LEVELS)
    keys = {"id", "level", "topic", "question", "hint", "compute", "inputs", "answer"}
    assert all(keys <= set(e) for e in bank["questions"])
