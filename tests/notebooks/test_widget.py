"""Chapter 6's widget, driven without a browser: its code cells run in a namespace, then the test moves
the controls the way a reader would and reads what the output area shows.

Every change must leave a verdict or a message in the output (never a traceback) and must be handled
within 100 ms. The time measured is the CPU time of the update (time.thread_time): on a shared machine,
other jobs stretch wall-clock time without the update doing more work, and the point of the check is the
work the update does. On an idle machine the two agree, since the update is single-threaded.
"""

from __future__ import annotations

import contextlib
import io
import statistics
import time
from pathlib import Path

import matplotlib
import nbformat
import pytest

matplotlib.use("Agg")

NOTEBOOK = (
    Path(__file__).resolve().parents[2] / "notebooks" / "06-size-it-yourself.ipynb"
)
BUDGET_S = 0.100
BROKEN_CONFIG = '{"model_type": "llama", "hidden_size": 4096,'


@pytest.fixture(scope="module")
def ns():
    """The notebook's namespace after running every code cell but the first (the install cell)."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "pip" in code[0].source, "the first code cell should be the setup cell"
    namespace: dict = {"__name__": "chapter6"}
    with contextlib.redirect_stdout(io.StringIO()):
        for cell in code[1:]:
            exec(compile(cell.source, "chapter6", "exec"), namespace)
    return namespace


def shown(ns) -> str:
    """What the output area shows as text: the message under the chart."""
    text = ns["message"].value
    assert "Traceback" not in text and "Error" not in text
    return text


def timed(ns, widget, value) -> float:
    """Set a control as a reader would; return the CPU seconds its observers took."""
    start = time.thread_time()
    ns[widget].value = value
    return time.thread_time() - start


def test_the_update_function_is_named_and_wired_to_every_control(ns):
    assert callable(ns["update"]) and callable(ns["read_controls"])
    for control in ns["controls"]:
        observers = control._trait_notifiers.get("value", {}).get("change", [])
        assert ns["update"] in observers


def test_default_state_shows_a_verdict_and_a_chart(ns):
    r = ns["update"]()
    assert r.ok and r.per_gpu_bytes
    assert shown(ns).startswith("<b>Fits on 1 x RTX 4090")
    assert (
        ns["picture"].value[:8] == b"\x89PNG\r\n\x1a\n"
        and ns["picture"].layout.display == ""
    )


def test_changing_the_model_precision_and_context_changes_the_verdict(ns):
    timed(ns, "model_box", "meta-llama/Llama-3.1-70B")
    assert "Does not fit on 1 x RTX 4090" in shown(ns)
    assert "The fewest RTX 4090 that hold it" in shown(ns)
    timed(ns, "precision_box", "awq-4bit-128g")
    timed(ns, "count_box", 2)
    assert "Fits on 2 x RTX 4090" in shown(ns)
    timed(ns, "context_box", 200_000)
    assert "Does not fit on 2 x RTX 4090" in shown(ns)
    assert "Longest context that fits at batch 1" in shown(ns)
    for name, value in [
        ("context_box", 8192),
        ("precision_box", "bf16"),
        ("count_box", 1),
        ("model_box", "meta-llama/Llama-3.1-8B"),
    ]:
        timed(ns, name, value)
    assert shown(ns).startswith("<b>Fits on 1 x RTX 4090")


def test_a_split_the_heads_forbid_is_a_message(ns):
    timed(ns, "count_box", 3)
    assert "Cannot run on 3 x RTX 4090" in shown(ns)
    assert "does not divide the 32 attention heads" in shown(ns)
    assert ns["picture"].layout.display == "none"
    timed(ns, "count_box", 1)
    assert ns["picture"].layout.display == ""


def test_a_malformed_pasted_config_is_a_message_and_clearing_it_restores_the_menu(ns):
    timed(ns, "config_box", BROKEN_CONFIG)
    assert "not valid JSON (line 1, column 45" in shown(ns)
    assert ns["picture"].layout.display == "none"
    timed(ns, "config_box", '{"model_type": "llama", "hidden_size": 4096}')
    assert "num_attention_heads" in shown(ns) and "is required" in shown(ns)
    timed(ns, "config_box", "")
    assert shown(ns).startswith("<b>Fits on 1 x RTX 4090")


def test_a_pasted_valid_config_is_sized(ns):
    cfg = (
        '{"model_type": "llama", "hidden_size": 2048, "num_hidden_layers": 16, "num_attention_heads": 32, '
        '"num_key_value_heads": 8, "intermediate_size": 8192, "vocab_size": 128256, '
        '"tie_word_embeddings": true}'
    )
    timed(ns, "config_box", cfg)
    assert "Fits on 1 x RTX 4090" in shown(ns) and ns["picture"].layout.display == ""
    assert ns["update"]().model == "pasted config"
    timed(ns, "config_box", "")


def test_nothing_fits_is_a_message(ns):
    timed(ns, "gpu_box", "RTX 3080 10GB")
    timed(ns, "model_box", "meta-llama/Llama-3.1-405B")
    assert "Does not fit on 1 x RTX 3080 10GB" in shown(ns)
    assert "No tensor-parallel group of up to 64 x RTX 3080 10GB" in shown(ns)
    assert "Not even a 1-token context fits" in shown(ns)
    timed(ns, "model_box", "meta-llama/Llama-3.1-8B")
    timed(ns, "gpu_box", "RTX 4090")


def test_bad_numbers_are_messages(ns):
    timed(ns, "context_box", 0)
    assert "Context must be an integer &gt;= 1" in shown(ns)
    timed(ns, "batch_box", -2)
    assert "must be an integer &gt;= 1" in shown(ns)
    timed(ns, "context_box", 8192)
    timed(ns, "batch_box", 1)
    assert shown(ns).startswith("<b>Fits on 1 x RTX 4090")


@pytest.mark.parametrize(
    "widget,values",
    [
        (
            "model_box",
            [
                "Qwen/Qwen2.5-7B",
                "mistralai/Mixtral-8x7B-v0.1",
                "google/gemma-2-9b",
                "meta-llama/Llama-3.1-8B",
            ],
        ),
        ("precision_box", ["fp8", "Q4_K_M", "awq-4bit-128g", "bf16"]),
        ("context_box", [4096, 32768, 131072, 8192]),
        ("count_box", [2, 3, 4, 1]),
        ("config_box", [BROKEN_CONFIG, "", BROKEN_CONFIG, ""]),
    ],
)
def test_each_update_takes_under_100_ms(ns, widget, values):
    ns["update"]()  # warm: data files read, fonts cached
    seconds = [timed(ns, widget, v) for v in values * 2]
    assert statistics.median(seconds) < BUDGET_S, (
        f"{widget}: median {statistics.median(seconds) * 1e3:.0f} ms"
    )
    assert shown(ns)
