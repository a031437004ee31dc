# `make repro` runs the pipeline, `make test` the tests; each first builds .venv from the pinned
# requirements if it is missing or older than them. `make env` only builds it.
VENV := .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: env repro test lint docs bench mutants plots plots-screenshot exps study moonshot seeds review

env: $(VENV)/.installed

repro: $(VENV)/.installed
	dvc repro

test: $(VENV)/.installed
	python -m pytest -n 2 --dist loadscope  # both cores; each module's fixtures on one worker

lint: $(VENV)/.installed
	ruff check . && ruff format --check .

# The generated tables of README.md and docs/ (tests/test_docs.py fails while one is stale).
docs: $(VENV)/.installed
	python -m tools.docs

bench: $(VENV)/.installed
	python -m benchmarks

# The experiments of this commit, one row each, with only the params and metrics that differ
# between them (no dependency hashes, no training-set or precision/recall/f1 columns).
exps: $(VENV)/.installed
	dvc exp show --only-changed --md --drop 'Created|State|Executor|[^:]*/[^:]*$$|params\.yaml$$|reports/train/train\.json:(accuracy|loss)$$|.*:(precision|recall|f1)$$'

# The tutorial's claims measured on the full data (tools/study.py; about two hours on 2 cores):
# cell x maxlen x 3 seeds, then the best one bidirectional and two-layer, as named experiments.
# Resumes where it stopped. Offline: IMDB_ARCHIVE=/path/to/aclImdb_v1.tar.gz make study
study: $(VENV)/.installed
	python -m tools.study

# The moonshot (tools/moonshot.py; about an hour on 2 cores): a bidirectional GRU within the 2,000
# words over 3 seeds, its answers on hand-written reviews, in reports/moonshot.json. Resumes.
moonshot: $(VENV)/.installed
	python -m tools.moonshot

# The current params.yaml over N seeds as named experiments (train.seed, +1, ...): mean ± sd, and
# the configuration's record in reports/seeds.json, where `python -m pipeline.compare` finds its seed noise.
N ?= 5
seeds: $(VENV)/.installed
	python -m tools.seeds $(N)

# A review report for a pull request (tools/review.py): compare's verdicts, the params and metrics
# diffs and both revisions' figures in review/README.md (git-ignored). make review A=main B=my-branch
A ?= HEAD
B ?=
review: $(VENV)/.installed
	python -m tools.review $(A) $(B)

# Mutation testing, not part of CI (about 6 minutes, then 30 for the planted bugs, on 2 cores): mutmut over the pure
# helpers with their unit tests, then the curated planted bugs against the tests they name.
mutants: $(VENV)/.installed
	rm -rf mutants
	mutmut run
	mutmut export-cicd-stats
	python -c "import json; s = json.load(open('mutants/mutmut-cicd-stats.json')); \
	print(f\"mutmut: {s['killed'] + s['timeout']} of {s['total']} mutants killed\")"
	python tests/planted_bugs.py

# The `dvc plots` page, checked in headless Chromium (Debian's chromium), and its screenshot beside
# it in the untracked dvc_plots/. `make plots-screenshot` then refreshes the committed screenshot.
plots: $(VENV)/.installed
	dvc plots show
	python -m tools.plots_page dvc_plots/index.html --screenshot dvc_plots/plots_page.png

plots-screenshot: plots
	cp dvc_plots/plots_page.png reports/figures/plots_page.png

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --requirement requirements-dev.txt
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps --editable .
	touch $@
