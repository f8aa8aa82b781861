# Everything runs from here. `make train` and `make test` are all a new user needs.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CONFIG ?= configs/default.yaml
MODEL ?= models/default
DATA ?= data/stance/test.jsonl
NPROC ?= 1
ENGINE ?= local
IN ?=
OUT ?=
ARGS ?=
export PYTHONUNBUFFERED := 1

.PHONY: setup train test eval baseline data-check score bench report demo lint clean

## setup: virtualenv, CPU torch, pinned packages, and the embedded base model (idempotent)
setup: $(STAMP)
	@$(PY) -m infer.base_model >/dev/null

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# The CPU build lies on local disk; a bare `torch` would pull a multi-GB CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[train,io,dev]'
	touch $(STAMP)

## train: fine-tune on CONFIG (default: the embedded encoder); NPROC=2 runs it under torchrun
train: setup
ifeq ($(NPROC),1)
	$(PY) -m train --config $(CONFIG) $(ARGS)
else
	$(VENV)/bin/torchrun --nproc_per_node=$(NPROC) -m train --config $(CONFIG) $(ARGS)
endif

## test: data checks, lint, and the test suite (unit tests and real-model integration tests)
test: setup data-check
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q $(ARGS)

## eval: score MODEL on DATA; last stdout line is the metrics JSON
eval: setup
	$(PY) -m train.evaluate --model $(MODEL) --data $(DATA) $(ARGS)

## baseline: TF-IDF + logistic regression on the same data and report
baseline: setup
	$(PY) -m train.baseline --config $(CONFIG) $(ARGS)

## data-check: validate every labelled file and print the counts table
data-check: setup
	$(PY) -m train.data_check data/stance

## score: batch-score a corpus: make score IN=corpus.jsonl OUT=scored.jsonl [MODEL=...]
score: setup
	$(PY) -m infer score $(IN) $(OUT) --model $(MODEL) $(ARGS)

## bench: speed and memory of the inference paths, side by side
bench: setup
	$(PY) -m infer.bench --model $(MODEL) $(ARGS)

lint: setup
	$(VENV)/bin/ruff check .

clean:
	rm -rf models reports .pytest_cache .ruff_cache
