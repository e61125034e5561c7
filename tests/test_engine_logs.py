"""vramlib's engine models held against public engine log lines (data/engine-logs).

Every row of logs.csv is a line vLLM, SGLang or llama.cpp printed in a public issue,
pull request or CI log, with its URL, the model, the settings and the figure. Exact
kinds must match at the printed rounding; model kinds within their stated tolerance;
decode speeds must not beat the bandwidth bound.
"""

import json
from pathlib import Path

import pytest

from vramlib.engines import ENGINES, logcheck

LOGS = Path(__file__).resolve().parent.parent / "data" / "engine-logs"
ROWS = logcheck.load_rows(LOGS / "logs.csv")


def test_enough_rows_from_every_engine():
    assert len(ROWS) >= 40
    assert {r["engine"] for r in ROWS} == set(ENGINES)


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r['id']}-{r['kind']}")
def test_row_is_sourced_and_complete(row):
    assert row["url"].startswith("https://github.com/")
    assert row["raw_line"].strip()
    assert row["kind"] in logcheck.TOLERANCES
    assert isinstance(row["settings"], dict)
    float(row["figure"])
    derived = "Figure:" in row["note"]
    if not derived:
        text = row["raw_line"] + " " + row["context_line"]
        digits = row["figure"]
        assert digits in text.replace(",", ""), (digits, text)


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r['id']}-{r['kind']}")
def test_row_reproduced(row):
    check = logcheck.check_row(row)
    rule, tol, _ = logcheck.TOLERANCES[row["kind"]]
    assert check.passes, (row["raw_line"], check.predicted, check.error, rule, tol)
    if rule == "exact":
        assert check.error == 0.0


def test_configs_name_their_public_copy():
    for path in sorted((LOGS / "configs").glob("*.json")):
        cfg = json.loads(path.read_text(encoding="utf-8"))
        assert cfg["_source"].split(": ")[-1].startswith("https://"), path.name


def test_error_table_covers_every_kind_in_the_logs():
    checks = [logcheck.check_row(r) for r in ROWS]
    table = logcheck.summary(checks)
    assert {line["kind"] for line in table} == {r["kind"] for r in ROWS}
    for line in table:
        assert line["rows"] == line["passing"], line
        if line["rule"] == "exact":
            assert line["max_abs_error"] == 0.0
        elif line["rule"] == "relative":
            assert line["max_abs_error"] <= line["tolerance"]


def test_a_wrong_figure_is_caught():
    row = dict(next(r for r in ROWS if r["kind"] == "llamacpp_gpu_model_mib"))
    row["figure"] = f"{float(row['figure']) + 0.02:.2f}"
    assert not logcheck.check_row(row).passes
    row = dict(next(r for r in ROWS if r["kind"] == "vllm_tokens_from_budget"))
    row["figure"] = str(int(row["figure"]) + 16 * 50)
    assert not logcheck.check_row(row).passes
