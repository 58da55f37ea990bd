# The Resilience Revolution evaluation compendium: the pipeline as file targets.
#
#   make all      set up .venv, then reproduce every chapter, figure, table, the claims and the report
#   make test     set up .venv, then run the test suite
#
# Choose the data with DATA_DIR=/path/to/raw (or RR_DATA_DIR) and where a non-default run writes
# with OUT_DIR=... (default output/<name of the data folder>/). `make help` lists the targets.

SHELL := /bin/bash
.DEFAULT_GOAL := all
.DELETE_ON_ERROR:
.SUFFIXES:
.SECONDEXPANSION:

# Chapters run in parallel, one job per core; output synchronised per line (progress stays visible).
# nproc honours OMP_NUM_THREADS, which this Makefile exports as 1 (below): a make started by a recipe
# (the test suite's pipeline runs) would otherwise count one core and run its chapters one by one.
NPROC := $(shell env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc 2>/dev/null || echo 2)
# JOBS=1 for a make started where the cores are already busy (the test suite's pipeline runs, beside
# pytest's own workers: two jobs each there made the suite slower, 403 s -> 464 s from a fresh clone)
JOBS ?= $(NPROC)
MAKEFLAGS += --jobs=$(JOBS) --output-sync=line --no-print-directory
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RR := $(PY) -m rrlib
SETUP := $(VENV)/.installed
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export PYTHONHASHSEED := 0
export SOURCE_DATE_EPOCH := 1472688000
export MPLBACKEND := agg
# one BLAS thread per job: chapters already run one per core
export OMP_NUM_THREADS := 1
export OPENBLAS_NUM_THREADS := 1
export MKL_NUM_THREADS := 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1
# Python caches each module's bytecode the first time a process imports it (the lock is installed without
# compiling every file of every package, most of which no run imports); a shell that forbids it
# (PYTHONDONTWRITEBYTECODE) would make every process compile pandas, scipy and matplotlib again.
unexport PYTHONDONTWRITEBYTECODE

# DISCLOSURE=tre: one disclosure preset for every published table of the run (rrlib.disclosure
# PRESETS; "tre" = SACRO/ACRO's minimum cell count 10), instead of each notebook's own.
DISCLOSURE ?= $(RR_DISCLOSURE_PRESET)
ifneq ($(strip $(DISCLOSURE)),)
export RR_DISCLOSURE_PRESET := $(strip $(DISCLOSURE))
endif

# AREA=<name or code> (DfE old LA code, ONS code or name, any case; rrlib.areas): the official-statistics
# sections of every chapter for that authority, into output/area-<slug>/ unless OUT_DIR is given; the
# pupil-level sections need DATA_DIR=<its extracts>. An unknown area: one line with the closest names, exit 2.
AREA ?= $(RR_AREA)
ifneq ($(strip $(AREA)),)
AREA_CODE := $(shell PYTHONPATH=src $(PYTHON) -m rrlib.areas code '$(strip $(AREA))' 2>&1)
ifneq ($(.SHELLSTATUS),0)
$(error $(AREA_CODE))
endif
AREA_SLUG := $(shell PYTHONPATH=src $(PYTHON) -m rrlib.areas slug '$(strip $(AREA))')
export RR_AREA := $(AREA_CODE)
OUT_DIR ?= $(if $(strip $(RR_OUT_DIR)),$(RR_OUT_DIR),output/area-$(AREA_SLUG))
endif

DATA_DIR ?= $(RR_DATA_DIR)
OUT_DIR ?= $(RR_OUT_DIR)
ifneq ($(strip $(DATA_DIR)),)
export RR_DATA_DIR := $(abspath $(DATA_DIR))
endif
ifneq ($(strip $(OUT_DIR)),)
export RR_OUT_DIR := $(abspath $(OUT_DIR))
endif

# Where this run reads and writes, from rrlib.paths (standard library only: works before set-up).
# (make 4.3 does not pass exported variables to $(shell): name them explicitly)
LAYOUT := $(shell RR_DATA_DIR='$(RR_DATA_DIR)' RR_OUT_DIR='$(RR_OUT_DIR)' PYTHONPATH=src $(PYTHON) -c 'from rrlib import paths as p; l = p.layout(); print(l.data_dir, l.out_dir, l.processed_dir, l.figures_dir)')
RR_DATA := $(word 1,$(LAYOUT))
RR_OUT := $(word 2,$(LAYOUT))
RR_PROCESSED := $(word 3,$(LAYOUT))
RR_FIGURES := $(word 4,$(LAYOUT))

# The chapters are found from their notebooks (rrlib.registry, standard library only): key, start
# order (longest first, from the last run's durations) and the library files each one imports.
# Adding a chapter means adding its notebook and module: nothing here changes.
LIB_DATA := $(shell find src/rrlib/data src/rrlib/instruments -name '*.py' 2>/dev/null) src/rrlib/manifest.py src/rrlib/io.py src/rrlib/calendar.py
RAW_FILES := $(wildcard $(RR_DATA)/*)
PUBLIC_FILES := $(wildcard data/raw/public/*.csv)
PREPARED := $(RR_PROCESSED)/.prepared.json
CHAPTERS_MK := $(shell mkdir -p '$(RR_OUT)' && PYTHONPATH=src $(PYTHON) -m rrlib.registry make '$(RR_OUT)/notebooks' > '$(RR_OUT)/.chapters.mk.'$$$$'.tmp' && mv '$(RR_OUT)/.chapters.mk.'$$$$'.tmp' '$(RR_OUT)/.chapters.mk' && echo '$(RR_OUT)/.chapters.mk')
ifeq ($(CHAPTERS_MK),)
$(error the chapter registry failed: run `PYTHONPATH=src $(PYTHON) -m rrlib.registry` to see why)
endif
include $(CHAPTERS_MK)
NOTEBOOKS := $(sort $(CHAPTER_NOTEBOOKS))
EXECUTED := $(patsubst notebooks/%,$(RR_OUT)/notebooks/%,$(CHAPTER_NOTEBOOKS))
CLAIMS := $(RR_OUT)/claims.json
REPORT := $(RR_OUT)/index.html

# Chapters read the shipped cuts of the official statistics (data/raw/public) by default;
# a run may add parameters per notebook, e.g. PARAMS_02_exclusions='-p dfe_la_file=/path/exc_nat_region_la.csv'.

.PHONY: all setup data chapters claims report outbox verify figures-manifest test test-fast bench simulation clean clean-all help strip synth hooks lint codecheck nbval lab

all: $(SETUP) data chapters claims report ## set up, then reproduce every chapter, the claims and the report (default)

help: ## list the targets
	@echo "Resilience Revolution evaluation compendium. Targets:"
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | sort | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-18s %s\n", $$1, $$2}'
	@echo "Variables: DATA_DIR=<raw data folder> (default data/raw/synthetic)  OUT_DIR=<output folder>  DISCLOSURE=tre (one disclosure preset for the run)"
	@echo "           AREA=<local authority: name, DfE or ONS code> (official statistics for that authority, into output/area-<slug>/)"
	@echo "This run: data $(RR_DATA) -> outputs $(RR_OUT), figures $(RR_FIGURES)"

setup: $(SETUP) ## create .venv (Python 3.11+) with the pinned dependencies and rrlib

# Notebooks are committed stripped of outputs and of these metadata (nbstripout; `make strip`).
NB_EXTRA_KEYS := metadata.papermill cell.metadata.papermill metadata.widgets metadata.language_info.version metadata.language_info.codemirror_mode metadata.language_info.pygments_lexer metadata.language_info.file_extension metadata.language_info.mimetype metadata.language_info.nbconvert_exporter
# The git filter that strips them lives in the repository's config, shared by its worktrees: it is
# installed from the main checkout, or from a worktree only when no working filter is configured
# (rrlib.devtools.gitfilter), so that removing a worktree never breaks `git commit` elsewhere.

# requirements.lock pins every package, closed under their dependencies (`pip check` below; the tests
# compare .venv with the lock), so pip installs it as it stands, without resolving (`--no-deps`, pip's
# "repeatable installs"), in two halves at once: one pip unpacks on one core, and the set-up is the longest
# step of a first `make test` (a fresh .venv: 55-70 s in one pip, 35-40 s in two). Nothing is compiled at
# install (`--no-compile`, 39 s -> 28 s): a module's bytecode is written when a run first imports it.
LOCK_HALVES := $(VENV)/.lock-0 $(VENV)/.lock-1

$(PY):
	@echo "[make] creating $(VENV) and installing the pinned environment (a minute or two the first time)"
	$(PYTHON) -m venv $(VENV)

$(VENV)/.lock-%: requirements.lock | $(PY)
	awk -v half=$* '!/^[[:space:]]*(#|$$)/ && (n++ % 2) == half' requirements.lock > $@.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-compile -r $@.txt
	touch $@

# rrlib itself, editable, built by the locked setuptools (no isolated build environment to fetch)
$(SETUP): pyproject.toml $(LOCK_HALVES)
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(PY) -m pip check --disable-pip-version-check
	-@$(PY) -m rrlib.devtools.gitfilter --extra-keys "$(NB_EXTRA_KEYS)"
	touch $@

data: $(PREPARED) ## verify the raw data's checksums, validate it and write the processed tables

# rr prepare checks the MANIFEST's sha256 sums first (and says so), then validates and writes.
$(PREPARED): $(SETUP) $(RAW_FILES) $(LIB_DATA)
	$(RR) prepare

synth: $(SETUP) ## regenerate the shipped synthetic data folder from its seed and parameters
	$(RR) synth

chapters: $(EXECUTED) ## run every chapter notebook (only those whose inputs changed)

$(RR_OUT)/notebooks/%.ipynb: notebooks/%.ipynb $(PREPARED) $(PUBLIC_FILES) $$(CHAPTER_DEPS_$$*) $(RR_OUT)/.params/%
	$(RR) run notebooks/$*.ipynb $(PARAMS_$*)

# A chapter's parameters (PARAMS_<notebook>, e.g. PARAMS_04_self_harm_readmissions='-p financial_year=2018/19')
# are kept in a stamp, rewritten (when make reads this file) only when they change: make reruns exactly
# the chapters whose parameters changed, and `make -n`/`-q` stay quiet when none did.
# Non-default options never go over the reference outputs: give OUT_DIR=... with them (rr run refuses otherwise).
define params_stamp
ifneq ($$(if $$(wildcard $(RR_OUT)/.params/$(1)),$$(file <$(RR_OUT)/.params/$(1)),missing:),$$(strip $$(PARAMS_$(1))))
$$(shell mkdir -p '$(RR_OUT)/.params')
$$(file >$(RR_OUT)/.params/$(1),$$(strip $$(PARAMS_$(1))))
endif
endef
$(foreach n,$(patsubst notebooks/%.ipynb,%,$(NOTEBOOKS)),$(eval $(call params_stamp,$(n))))

claims: $(CLAIMS) ## compare claims.yml with the chapters' results (claims.json, claims.md)

$(CLAIMS): $(EXECUTED) claims.yml src/rrlib/claims.py src/rrlib/claims_report.py src/rrlib/results.py
	$(RR) claims

report: $(REPORT) ## build the HTML report (index.html, opens offline)

$(REPORT): $(EXECUTED) $(CLAIMS) src/rrlib/report.py src/rrlib/book.py src/rrlib/claims.py src/rrlib/claims_report.py src/rrlib/verify.py $(wildcard figures/MANIFEST) $(wildcard src/rrlib/templates/*) src/rrlib/numbering.py src/rrlib/references.py src/rrlib/references.yml CITATION.cff
	$(RR) report

outbox: all ## <out>/outbox/: released tables and figures (SVG+PNG) with disclosure records, ACRO bundle
	$(RR) outbox

verify: all ## rerun, then compare figures with figures/MANIFEST and fail on a claim that differs
	$(RR) verify

figures-manifest: all ## record the current reference figures' sha256 in figures/MANIFEST
	$(RR) figures-manifest

TEST_OUT := $(CURDIR)/output/.test
# pytest exits 5 when it collects no test: say so loudly, but it is not a failure of the code.
NO_TESTS_OK = || { rc=$$?; if [ $$rc -eq 5 ]; then echo "[make] warning: pytest collected no tests"; else exit $$rc; fi; }
# The tests read the default run (report in a browser, disclosure scan of published tables), so
# `make test` first brings it up to date (`make all`: a no-op when nothing changed).
# Each chapter runs once for the default data (`make all`, from a clean kernel); the tests check those
# executions (tests/integration/test_executed_notebooks.py) rather than running every notebook again.
# nbval's pytest plugin (for `make nbval`) is not loaded: it costs each of pytest's processes 2 s.
test: $(SETUP) lint all ## run the tests: lint, unit, integration (the executed chapters included), environment
	@rm -rf $(TEST_OUT) && mkdir -p $(TEST_OUT)
	PYTHONHASHSEED=0 $(PY) -m pytest -p no:cacheprovider -p no:nbval -n $(NPROC) --dist loadgroup --durations=15 tests $(NO_TESTS_OK)

nbval: $(SETUP) data ## re-execute every chapter notebook under nbval (not part of make test)
	RR_OUT_DIR=$(TEST_OUT)/nbval $(PY) -m pytest -p no:cacheprovider --nbval-lax --nbval-cell-timeout=900 $(NOTEBOOKS)

# ruff's rules are in pyproject.toml ([tool.ruff]); the same checks as .pre-commit-config.yaml, without pre-commit.
lint: $(SETUP) ## lint the code and the notebooks (ruff) and check for trailing whitespace
	$(VENV)/bin/ruff check --no-cache .
	@if git rev-parse --git-dir >/dev/null 2>&1 && git grep -nIE '[[:blank:]]+$$' -- . ':!figures/' ':!data/raw/'; then \
	  echo "[make] lint: trailing whitespace in the lines above"; exit 1; fi

codecheck: all ## write codecheck.yml (CODECHECK manifest) from figures/MANIFEST and the reference tables
	$(RR) codecheck

test-fast: $(SETUP) ## unit tests only
	PYTHONHASHSEED=0 $(PY) -m pytest -p no:cacheprovider -p no:nbval -m "not slow" tests/unit

bench: $(SETUP) ## benchmark the pipeline (reports/bench.json); not part of make test
	$(RR) bench

simulation: $(SETUP) ## simulation study of the estimators (reports/simulation.json, .md); not part of make test
	$(RR) simulate

# JupyterLab for extending the notebooks by hand: the project's .venv (its python3 kernel is the .venv's
# python), the chosen data folder, and a scratch output folder, so a chapter run by hand never writes over
# the reference figures/ or reports/ (the chapters read RR_DATA_DIR and RR_OUT_DIR through rrlib.paths).
LAB_OUT ?= $(CURDIR)/output/lab
LAB_ENV = RR_DATA_DIR='$(RR_DATA)' RR_OUT_DIR='$(LAB_OUT)' JUPYTER_PATH='$(CURDIR)/$(VENV)/share/jupyter'
LAB_ARGS ?=
lab: $(SETUP) ## open JupyterLab on notebooks/ (the .venv kernel; a hand run writes to output/lab, not figures/)
	@mkdir -p '$(LAB_OUT)'
	@echo "[make] JupyterLab: data $(RR_DATA) -> outputs $(LAB_OUT) (figures/ and reports/ are never written)"
	$(LAB_ENV) $(VENV)/bin/jupyter lab --notebook-dir=notebooks $(LAB_ARGS)

strip: $(SETUP) ## strip outputs and papermill metadata from the committed notebooks
	$(VENV)/bin/nbstripout --extra-keys "$(NB_EXTRA_KEYS)" $(NOTEBOOKS)

clean: ## remove build products of this run (processed data, reports, outputs); keeps .venv and figures/
	rm -rf $(RR_PROCESSED) $(RR_OUT)/notebooks $(RR_OUT)/results $(RR_OUT)/tables $(CLAIMS) $(RR_OUT)/claims.md $(RR_OUT)/claims.html $(REPORT) $(RR_OUT)/html $(RR_OUT)/screenshot-*.png output/.test
	$(if $(filter $(CURDIR)/reports,$(RR_OUT)),,rm -rf $(RR_OUT))

clean-all: clean ## also remove .venv
	rm -rf $(VENV)
