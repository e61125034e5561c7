"""Every chapter runs in Google Colab (or Binder) from a clean kernel.

The first code cell of every notebook is the same setup cell: it installs vramlib from the book's
repository (and myst-nb, for ``glue``) where they are missing, and does nothing where they are present.
Its REPO_URL is ``repository.url`` from _config.yml, the one place the address is set; the README gives
the same address. Beyond that cell, the chapters import only what Colab ships.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted(
    (ROOT / "book").glob("*.ipynb")
)
IDS = [p.relative_to(ROOT).as_posix() for p in NOTEBOOKS]

# The setup cell, word for word; {repo_url} is _config.yml's repository.url.
SETUP_CELL = """# Setup: make vramlib importable. Where it is missing (Colab, Binder) this installs it
# from the book's repository, with myst-nb for `glue`; otherwise it does nothing.
import importlib.util, subprocess, sys

REPO_URL = "{repo_url}"
if not all(importlib.util.find_spec(m) for m in ("vramlib", "myst_nb")):
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", f"git+{{REPO_URL}}", "myst-nb"],
        check=True,
    )"""

# What a chapter may import: the packages Colab ships, what the setup cell installs, the standard library.
ALLOWED_IMPORTS = {
    "vramlib",
    "myst_nb",
    "matplotlib",
    "sympy",
    "ipywidgets",
    "IPython",
    "numpy",
}


def repo_url() -> str:
    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))[
        "repository"
    ]["url"]


def code_cells(path: Path) -> list[str]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 2


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_first_code_cell_is_the_setup_cell(path):
    cells = code_cells(path)
    assert cells, "the notebook has no code cell"
    assert cells[0] == SETUP_CELL.format(repo_url=repo_url()), (
        "the first code cell must be the setup cell, word for word (see tests/test_colab_setup.py)"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_setup_cell_repo_url_is_the_config_url(path):
    tree = ast.parse(code_cells(path)[0])
    urls = [
        node.value.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and [t.id for t in node.targets if isinstance(t, ast.Name)] == ["REPO_URL"]
        and isinstance(node.value, ast.Constant)
    ]
    assert urls == [repo_url()]


def test_repository_url_is_a_github_repository():
    url = repo_url()
    assert url.startswith("https://github.com/")
    assert len(url.removeprefix("https://github.com/").split("/")) == 2
    assert not url.endswith((".git", "/"))


def test_readme_gives_the_same_address():
    assert repo_url() in (ROOT / "README.md").read_text(encoding="utf-8"), (
        "README.md should name the repository, as _config.yml's repository.url"
    )


# --- the setup cell's two branches, with the install stubbed (nothing is fetched) ---

REAL_FIND_SPEC = importlib.util.find_spec


class Recorder:
    def __init__(self):
        self.calls = []

    def __call__(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        return subprocess.CompletedProcess(args[0] if args else None, 0)


def run_cell(monkeypatch, missing: set[str]) -> Recorder:
    """Execute the setup cell with ``missing`` modules reported absent and subprocess.run recorded."""
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name in missing else REAL_FIND_SPEC(name, *a),
    )
    recorder = Recorder()
    monkeypatch.setattr(subprocess, "run", recorder)
    exec(compile(SETUP_CELL.format(repo_url=repo_url()), "<setup cell>", "exec"), {})
    return recorder


@pytest.mark.parametrize("missing", [{"vramlib"}, {"myst_nb"}, {"vramlib", "myst_nb"}])
def test_setup_cell_installs_when_something_is_missing(monkeypatch, missing):
    recorder = run_cell(monkeypatch, missing)
    expected = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "-q",
        "git+" + repo_url(),
        "myst-nb",
    ]
    assert recorder.calls == [((expected,), {"check": True})]


def test_setup_cell_does_nothing_when_both_are_installed(monkeypatch):
    assert importlib.util.find_spec("vramlib") and importlib.util.find_spec("myst_nb")
    assert run_cell(monkeypatch, set()).calls == []


def test_setup_cell_is_idempotent(monkeypatch):
    # First run in a fresh Colab runtime installs; once installed, running it again does nothing.
    first = run_cell(monkeypatch, {"vramlib", "myst_nb"})
    second = run_cell(monkeypatch, set())
    third = run_cell(monkeypatch, set())
    assert len(first.calls) == 1 and second.calls == [] and third.calls == []


def test_setup_cell_install_failure_stops_the_notebook(monkeypatch):
    # check=True: a failed install raises instead of letting the next cell fail on `import vramlib`.
    def failing(cmd, check=False, **kwargs):
        if check:
            raise subprocess.CalledProcessError(1, cmd)
        return subprocess.CompletedProcess(cmd, 1)

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    monkeypatch.setattr(subprocess, "run", failing)
    with pytest.raises(subprocess.CalledProcessError):
        exec(
            compile(SETUP_CELL.format(repo_url=repo_url()), "<setup cell>", "exec"), {}
        )


# --- what the chapters import ---


def imported_modules(source: str) -> set[str]:
    """Top-level modules a cell imports (``import a.b`` -> a; ``from a.b import c`` -> a; and
    ``importlib.import_module("a")`` / ``__import__("a")`` with a literal name). IPython syntax
    (magics, ``!`` shell lines) is turned into Python first, as the kernel does."""
    from IPython.core.inputtransformer2 import TransformerManager

    tree = ast.parse(TransformerManager().transform_cell(source))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add("." if node.level else node.module.split(".")[0])
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (
                (
                    isinstance(node.func, ast.Attribute)
                    and node.func.attr == "import_module"
                )
                or (isinstance(node.func, ast.Name) and node.func.id == "__import__")
            )
        ):
            names.add(node.args[0].value.split(".")[0])
    return names


def test_imported_modules_reads_every_kind_of_import():
    source = (
        "import os.path, numpy as np\nfrom matplotlib import pyplot\nfrom . import x\n"
        "%matplotlib inline\n!pip list\nimportlib.import_module('pandas.io')\n__import__('torch')\n"
    )
    assert imported_modules(source) == {
        "os",
        "numpy",
        "matplotlib",
        ".",
        "pandas",
        "torch",
    }


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_chapter_imports_only_what_colab_has(path):
    allowed = ALLOWED_IMPORTS | set(sys.stdlib_module_names)
    imported = set().union(*(imported_modules(cell) for cell in code_cells(path)))
    assert imported - allowed == set(), (
        f"not in Colab and not installed by the setup cell: {sorted(imported - allowed)}; "
        f"allowed: {sorted(ALLOWED_IMPORTS)} and the standard library"
    )
