# `make repro` runs the pipeline, `make test` the tests; each first builds .venv from the pinned
# requirements if it is missing or older than them.
VENV := .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: repro test lint bench plots

repro: $(VENV)/.installed
	dvc repro

test: $(VENV)/.installed
	python -m pytest

lint: $(VENV)/.installed
	ruff check . && ruff format --check .

bench: $(VENV)/.installed
	python -m benchmarks

# The `dvc plots` page, checked in headless Chromium (Debian's chromium), and its screenshot.
plots: $(VENV)/.installed
	dvc plots show
	python -m tools.plots_page dvc_plots/index.html --screenshot reports/figures/plots_page.png

$(VENV)/.installed: requirements.txt requirements-dev.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --requirement requirements-dev.txt
	touch $@
