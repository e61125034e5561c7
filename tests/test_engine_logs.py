"""vramlib's engine models held against public engine log lines
(vramlib/data/engine_logs, shipped with the package).

Every row of logs.csv is a line vLLM, SGLang or llama.cpp printed in a public issue,
pull request or CI log, with its URL, the model, the settings and the figure. Exact
kinds must match at the printed rounding; model kinds within their stated tolerance;
decode speeds must not beat the bandwidth bound.
"""

import csv
import fnmatch
import json
from pathlib import Path

import pytest
import tomllib

from vramlib.engines import ENGINES, logcheck

ROOT = Path(__file__).resolve().parent.parent
LOGS = ROOT / "vramlib" / "data" / "engine_logs"
ROWS = logcheck.load_rows(LOGS / "logs.csv")


def test_default_rows_are_the_shipped_csv():
    assert logcheck.logs_path() == LOGS / "logs.csv"
    rows = logcheck.load_rows()
    with (LOGS / "logs.csv").open(encoding="utf-8", newline="") as f:
        raw = list(csv.DictReader(f))
    assert [r["id"] for r in rows] == [r["id"] for r in raw]
    assert rows[0]["settings"] == json.loads(raw[0]["settings"])
    assert all(r["_dir"] == str(LOGS) for r in rows)
    configs = [r for r in rows if r["model"].startswith("configs/")]
    assert configs and logcheck.model_of(configs[0]).num_hidden_layers > 0


def test_log_files_are_package_data():
    # a pip install (Colab) ships only what pyproject's package-data names
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs = pyproject["tool"]["setuptools"]["package-data"]["vramlib"]
    files = [p for p in LOGS.rglob("*") if p.is_file()]
    assert len(files) >= 4
    for p in files:
        rel = p.relative_to(ROOT / "vramlib").as_posix()
        assert any(
            fnmatch.fnmatch(rel, g) and rel.count("/") == g.count("/") for g in globs
        ), rel


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
