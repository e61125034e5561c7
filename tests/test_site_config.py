"""The published book's configuration: what _config.yml, _toc.yml and the pages promise a reader.

Launch buttons (Colab, Binder) and downloads, execution with a cache, offline math, print CSS; every
page in the table of contents exists, has a label and one title; figures have alt text; cross-references
use labels; the deployment workflow and `make check-site` are wired up. Plus the pure helpers of
tools/check_site.py (the browser run itself is `make check-site`).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
SPHINX = CONFIG.get("sphinx", {}).get("config", {})


def toc_files() -> list[str]:
    files = [TOC["root"]]
    for part in TOC.get("parts", []):
        for chapter in part.get("chapters", []):
            files.append(chapter["file"])
            files.extend(s["file"] for s in chapter.get("sections", []))
    return files


def source(file: str) -> Path:
    for suffix in (".md", ".ipynb"):
        path = ROOT / (file + suffix)
        if path.exists():
            return path
    raise FileNotFoundError(file)


def markdown_of(path: Path) -> list[str]:
    """The Markdown of a page: the file, or a notebook's Markdown cells."""
    if path.suffix == ".md":
        return [path.read_text(encoding="utf-8")]
    nb = json.loads(path.read_text(encoding="utf-8"))
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]


def outside_code(text: str) -> str:
    """Markdown without fenced code blocks (``` or ~~~), where '#' is not a heading."""
    return re.sub(r"^(```|~~~)[^\n]*\n.*?^\1[^\n]*$", "", text, flags=re.S | re.M)


PAGES = toc_files()


# --- _config.yml ---


def test_title_and_author():
    assert CONFIG["title"].strip() and CONFIG["author"].strip()


def test_one_repository_url():
    url = CONFIG["repository"]["url"]
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", url)
    assert CONFIG["repository"]["branch"] == "main"
    # Nothing else in the configuration spells the address out: the buttons derive from repository.url.
    text = (ROOT / "_config.yml").read_text(encoding="utf-8")
    assert text.count(url) == 1


def test_launch_buttons_for_colab_and_binder():
    launch = CONFIG["launch_buttons"]
    assert launch["colab_url"] == "https://colab.research.google.com"
    assert launch["binderhub_url"] == "https://mybinder.org"


def test_repository_and_download_buttons():
    assert CONFIG["html"]["use_repository_button"] is True
    assert CONFIG["html"]["use_download_button"] is True


def test_sphinx_config_is_merged_not_replacing_the_buttons():
    # jupyter-book replaces its derived html_theme_options (launch buttons, repository) with
    # sphinx.config's unless recursive_update is on.
    if "html_theme_options" in SPHINX:
        assert CONFIG["sphinx"].get("recursive_update") is True


def test_execution_at_build_time_with_a_cache():
    assert CONFIG["execute"]["execute_notebooks"] == "cache"
    assert CONFIG["execute"]["allow_errors"] is False


def test_markdown_outputs_are_myst():
    assert SPHINX.get("nb_render_markdown_format") == "myst"


def test_math_is_served_by_the_site():
    # sphinx-mathjax-offline copies MathJax 3 into _static and points mathjax_path at it: no CDN.
    extensions = CONFIG["sphinx"].get("extra_extensions", [])
    assert "sphinx-mathjax-offline" in extensions
    assert "mathjax_path" not in SPHINX


def test_extra_extensions_are_importable_and_pinned():
    pins = {
        re.split(r"[=<>~ ]", line, maxsplit=1)[0].lower().replace("_", "-")
        for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith(("#", "-"))
    }
    for extension in CONFIG["sphinx"].get("extra_extensions", []):
        assert importlib.util.find_spec(extension) is not None, extension
        if extension.startswith("sphinx.ext."):
            continue  # part of Sphinx itself
        assert extension.lower().replace("_", "-") in pins, (
            f"pin {extension} in requirements.txt"
        )


def test_print_css_is_served_and_hides_the_navigation():
    static = [ROOT / p for p in SPHINX["html_static_path"]]
    assert all(p.is_dir() for p in static)
    for css in SPHINX["html_css_files"]:
        found = [p / css for p in static if (p / css).is_file()]
        assert found, f"{css} is in none of {SPHINX['html_static_path']}"
    text = (ROOT / "book" / "_static" / "print.css").read_text(encoding="utf-8")
    assert "@media print" in text
    for hidden in (".bd-sidebar-primary", ".bd-header", ".bd-sidebar-secondary"):
        assert hidden in text


# --- the pages ---


def test_toc_root_and_files_exist():
    for file in PAGES:
        assert source(file).is_file()


@pytest.mark.parametrize("file", PAGES)
def test_page_has_a_label_and_one_title(file):
    text = "\n".join(outside_code(m) for m in markdown_of(source(file)))
    titles = re.findall(r"^# \S.*$", text, flags=re.M)
    assert len(titles) == 1, f"one '# Title' per page, found {titles}"
    before = text[: text.index(titles[0])].strip().splitlines()
    assert before and re.fullmatch(r"\([\w-]+\)=", before[-1].strip()), (
        "a '(label)=' line before the title"
    )


def labels() -> set[str]:
    found = set()
    for file in PAGES:
        for text in markdown_of(source(file)):
            found.update(re.findall(r"^\(([\w-]+)\)=\s*$", text, flags=re.M))
            found.update(
                m.lower()
                for m in re.findall(r"^:name:\s*([\w-]+)\s*$", text, flags=re.M)
            )
    return found


@pytest.mark.parametrize("file", PAGES)
def test_cross_references_use_labels_that_exist(file):
    known = labels()
    for text in markdown_of(source(file)):
        text = outside_code(text)
        for target in re.findall(r"\{(?:ref|numref)\}`(?:[^`<]*<)?([^`>]+)>?`", text):
            assert target.strip() in known, f"unknown label {target!r}"
        # Links to other pages by file path break when a file moves; use {ref}`label`.
        local = [
            t
            for t in re.findall(r"\]\(([^)\s]+)\)", text)
            if not re.match(r"(https?:|mailto:|#)", t)
        ]
        assert local == [], f"link by path, use a label: {local}"


@pytest.mark.parametrize("file", [f for f in PAGES if source(f).suffix == ".ipynb"])
def test_every_figure_has_alt_text(file):
    nb = json.loads(source(file).read_text(encoding="utf-8"))
    for i, cell in enumerate(nb["cells"]):
        images = [
            o
            for o in cell.get("outputs", [])
            if any(k.startswith("image/") for k in o.get("data", {}))
        ]
        if images:
            alt = cell["metadata"].get("mystnb", {}).get("image", {}).get("alt", "")
            assert alt.strip(), (
                f"cell {i} draws a figure without metadata mystnb.image.alt"
            )


# --- deployment and the browser check ---


def test_workflow_tests_builds_and_deploys():
    wf = yaml.safe_load(
        (ROOT / ".github" / "workflows" / "book.yml").read_text(encoding="utf-8")
    )
    on = wf.get("on", wf.get(True))  # YAML 1.1 reads a bare `on` as true
    assert "pull_request" in on and on["push"]["branches"] == ["main"]
    steps = [s for job in wf["jobs"].values() for s in job.get("steps", [])]
    runs = [s.get("run", "") for s in steps]
    assert "make test" in runs and "make book" in runs
    setup = [s for s in steps if s.get("uses", "").startswith("actions/setup-python")]
    assert setup and setup[0]["with"]["python-version"] == "3.11"
    upload = [
        s
        for s in steps
        if s.get("uses", "").startswith("actions/upload-pages-artifact")
    ]
    assert upload and upload[0]["with"]["path"] == "_build/html"
    assert "main" in upload[0]["if"] and "push" in upload[0]["if"]
    deploy = [
        j
        for j in wf["jobs"].values()
        if any(s.get("uses", "").startswith("actions/deploy-pages") for s in j["steps"])
    ]
    assert len(deploy) == 1
    assert deploy[0]["permissions"] == {"pages": "write", "id-token": "write"}
    assert "main" in deploy[0]["if"] and "push" in deploy[0]["if"]


def test_check_site_runs_after_the_tests_in_ci():
    lines = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    ]
    assert lines.index("make check-site") == lines.index("make test") + 1
    assert re.search(
        r"^check-site:.*\bbook\b",
        (ROOT / "Makefile").read_text(encoding="utf-8"),
        flags=re.M,
    )


def test_site_requirements_are_exact_pins():
    lines = [
        line.strip()
        for line in (ROOT / "requirements-site.txt")
        .read_text(encoding="utf-8")
        .splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert any(line.startswith("playwright==") for line in lines)
    assert all(re.fullmatch(r"[\w.-]+==[\w.]+", line) for line in lines)


@pytest.fixture(scope="module")
def check_site():
    spec = importlib.util.spec_from_file_location(
        "check_site", ROOT / "tools" / "check_site.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "path, expected",
    [
        ("index.html", True),
        ("notebooks/01-rule-of-thumb.html", True),
        ("book/glossary.html", True),
        ("genindex.html", False),
        ("search.html", False),
        ("_static/webpack-macros.html", False),
        ("_sources/book/intro.md.html", False),
        (".pytest_cache/README.html", False),
        ("_images/figure.png", False),
    ],
)
def test_check_site_knows_pages(check_site, path, expected):
    assert check_site.is_page(path) is expected


def test_check_site_origin_and_fragments(check_site):
    origin = "http://127.0.0.1:8123"
    assert check_site.same_origin("http://127.0.0.1:8123/book/intro.html#x", origin)
    assert not check_site.same_origin("http://127.0.0.1:9999/book/intro.html", origin)
    assert not check_site.same_origin(
        "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js", origin
    )
    assert check_site.split_link(f"{origin}/a.html?q=1#sec") == (
        f"{origin}/a.html",
        "sec",
    )
    assert check_site.split_link(f"{origin}/a.html") == (f"{origin}/a.html", "")


def test_check_site_reads_anchors(check_site):
    html = '<section id="one"><a name="two"></a><h2 id="three">x</h2><p name="not-an-anchor"></p></section>'
    assert check_site.html_ids(html) == {"one", "two", "three"}


def test_check_site_uses_the_system_chromium_with_the_agreed_flags(check_site):
    assert set(check_site.CHROMIUM_FLAGS) == {
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
    }
    text = (ROOT / "tools" / "check_site.py").read_text(encoding="utf-8")
    assert "executable_path=" in text and "install" not in re.findall(
        r"playwright\s+(\w+)", text
    )
