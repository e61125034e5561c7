# The book on sizing GPU memory for LLMs. Needs only python3 and make; everything else goes in .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed
VSTAMP := $(VENV)/.installed-validate
export PYDEVD_DISABLE_FILE_VALIDATION := 1

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: help setup setup-validate book test test-lib test-validate test-notebooks test-papermill \
        test-book test-style lab clean execute format

help:
	@echo "make book   - build the site into _build/html (creates .venv on first run)"
	@echo "make test   - every check: library tests, transformers validation, notebooks (nbval, papermill), book build"
	@echo "make lab    - JupyterLab on the notebooks"
	@echo "make execute - re-run every notebook in place (after a library change), timestamps stripped"
	@echo "make format - format library, tests, tools and notebooks (ruff, 88 columns)"
	@echo "make check-site - the built site in headless Chromium (links, images, JS errors); screenshots"
	@echo "make clean  - remove _build (keeps .venv)"

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	$(PY) -c "import matplotlib.pyplot"  # builds the font cache now, not inside a notebook
	@touch $@

$(VSTAMP): $(STAMP) requirements-validate.txt
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-validate.txt
	@touch $@

setup: $(STAMP)
setup-validate: $(VSTAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . --path-output . -W -n --keep-going
	@echo "The book is at file://$(CURDIR)/_build/html/index.html"

test: test-style test-lib test-validate test-notebooks test-papermill test-book
	@echo "make test: every check passed"

# One style everywhere (ruff format, 88 columns): checked here, written by `make format`.
test-style: $(STAMP)
	$(BIN)/ruff format --check --quiet vramlib tests tools notebooks book

format: $(STAMP)
	$(BIN)/ruff format vramlib tests tools notebooks book

execute: $(STAMP)
	$(PY) tools/run_notebooks.py

test-lib: $(STAMP)
	$(PY) -m pytest tests vramlib --doctest-modules --ignore=tests/validate --ignore=tests/notebooks \
		-p no:cacheprovider

test-validate: $(VSTAMP)
	$(PY) -m pytest tests/validate -p no:cacheprovider

test-notebooks: $(STAMP)
	$(PY) -m pytest --nbval notebooks book -p no:cacheprovider --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-current-env

test-papermill: $(STAMP)
	$(PY) -m pytest tests/notebooks -p no:cacheprovider

test-book: book

# The built site in a real browser (headless Chromium): JavaScript errors, broken links and anchors,
# missing images and headings fail; screenshots go to _build/screenshots. Installs Debian's chromium
# (apt, as root) when it is missing, and Playwright from requirements-site.txt.
.PHONY: check-site
SSTAMP := $(VENV)/.installed-site
$(SSTAMP): $(STAMP) requirements-site.txt
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-site.txt
	@touch $@

check-site: book $(SSTAMP)
	@test -x /usr/bin/chromium || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }
	$(PY) tools/check_site.py _build/html --screenshots _build/screenshots --chromium /usr/bin/chromium

# JupyterLab refuses to run as root unless told to (containers often run as root).
lab: $(STAMP)
	$(BIN)/jupyter lab notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

clean:
	rm -rf _build
