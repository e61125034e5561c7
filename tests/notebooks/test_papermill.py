"""Every chapter runs under papermill with its default parameters and with another set.

The other set must change what the chapter glues into its prose, which shows that the parameters
cell really drives the chapter (a number typed into the text would not move).
"""
from __future__ import annotations

import json
from pathlib import Path

import papermill as pm
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted(ROOT.glob("notebooks/[0-9][0-9]*-*.ipynb")) + sorted(ROOT.glob("book/*.ipynb"))



def other_parameters(nb: dict) -> dict:
    """The chapter's second parameter set, kept in its own metadata under ``vramlib.papermill``."""
    return nb["metadata"].get("vramlib", {}).get("papermill", {})


def glued(nb: dict) -> dict[str, str]:
    values = {}
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            meta = out.get("metadata", {}).get("scrapbook", {})
            if meta.get("name"):
                data = out.get("data", {})
                values[meta["name"]] = "".join(data.get("application/papermill.record/text/plain", ""))
    return values


def run(path: Path, out: Path, parameters: dict) -> dict:
    pm.execute_notebook(str(path), str(out), parameters=parameters, kernel_name="python3",
                        progress_bar=False, cwd=str(path.parent))
    return json.loads(out.read_text())


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_chapter_has_a_second_parameter_set(path):
    nb = json.loads(path.read_text())
    assert other_parameters(nb), "set metadata.vramlib.papermill to a second parameter set"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_chapter_has_a_parameters_cell(path):
    nb = json.loads(path.read_text())
    tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_chapter_runs_with_default_and_other_parameters(path, tmp_path):
    default = glued(run(path, tmp_path / "default.ipynb", {}))
    other = glued(run(path, tmp_path / "other.ipynb", other_parameters(json.loads(path.read_text()))))
    assert default, "the chapter glues no numbers"
    assert default.keys() == other.keys()
    changed = [k for k in default if default[k] != other[k]]
    assert changed, "no glued number changed with the other parameters"
