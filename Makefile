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
SCORED ?=
ARGS ?=
export PYTHONUNBUFFERED := 1

.PHONY: setup train test test-fast eval baseline data-check score bench report demo lint clean \
	compare leave-one-actor-out learning-curve self-training tapt

## setup: virtualenv, CPU torch, pinned packages, and the embedded base model (idempotent)
setup: $(STAMP)
	@$(PY) -m train.base_model >/dev/null

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# The CPU build lies on local disk; a bare `torch` would pull a multi-GB CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[train,io,dev,ray]'
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

## test-fast: lint and the tests not marked slow (tiny models only): the loop while editing
test-fast: setup
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q -m "not slow and not integration" $(ARGS)

## eval: score MODEL on DATA; last stdout line is the metrics JSON
eval: setup
	$(PY) -m train.evaluate --model $(MODEL) --data $(DATA) $(ARGS)

## baseline: TF-IDF + logistic regression on the same data and report
baseline: setup
	$(PY) -m train.baseline --config $(CONFIG) $(ARGS)

## compare: train each of CONFIGS (config[:key=value,...]) once per seed (SEEDS), choose on
##          out-of-domain dev; rerun the same command to resume a cut-short comparison
CONFIGS ?= configs/default.yaml configs/mention.yaml
SEEDS ?= 42 43 44
compare: setup
	$(PY) -m train.compare $(CONFIGS) --seeds $(SEEDS) $(ARGS)

## pool: unlabelled sentences of the shared corpora for self-training and tapt (no evaluation
##       article, no copy of a labelled sentence); needs ../shared
POOL ?= data/unlabelled/pool.jsonl
$(POOL): | $(STAMP)
	PYTHONPATH=.:data/tools $(PY) data/tools/unlabelled_pool.py --out $(POOL)

## self-training: MODEL labels POOL; a student per seed trains on labelled + sure sentences
self-training: setup $(POOL)
	$(PY) -m train.self_training --teacher $(MODEL) --pool $(POOL) --config $(CONFIG) \
		--seeds $(SEEDS) $(ARGS)

## tapt: masked-LM training of the base encoder on POOL -> models/tapt-e5 (a base_model)
tapt: setup $(POOL)
	$(PY) -m train.tapt --pool $(POOL) $(ARGS)

## leave-one-actor-out: train without each actor, score it as an added actor (mention pooling)
leave-one-actor-out: setup
	$(PY) -m train.leave_one_actor_out --config configs/mention.yaml --seeds $(SEEDS) $(ARGS)

## learning-curve: CONFIG on 25/50/100% of the rounds 1-3 train set and on all of it
learning-curve: setup
	$(PY) -m train.learning_curve --config $(CONFIG) $(ARGS)

## data-check: validate every labelled file and print the counts table
data-check: setup
	$(PY) -m train.data_check data/stance

## score: batch-score a corpus: make score IN=corpus.jsonl OUT=scored.jsonl [MODEL=...]
##        ENGINE=ray: IN a file or folder of shards, OUT a folder (see README, Scaling out)
score: setup
	$(PY) -m infer score $(IN) $(OUT) --model $(MODEL) --engine $(ENGINE) $(ARGS)

## report: charts and tables of a scored corpus, in OUT/report.html:
##   make report SCORED=scored.jsonl OUT=reports/mine ARGS="--input corpus.jsonl --id-field id"
report: setup
	$(PY) -m report $(SCORED) $(OUT) $(ARGS)

## demo: score a SaudiNewsNet slice with MODEL and write its report to reports/demo/
# Every sentence of an article is scored (--split-sentences), so the slice is cut in whole
# articles (README, Corpus report, has the measured time). Other slices:
# make demo DEMO_ARTICLES=1000 CORPUS=path; ARGS go to `infer score` (e.g. ARGS="--backend int8").
CORPUS ?= ../shared/corpora/saudinewsnet
DEMO_ARTICLES ?= 3000
DEMO ?= reports/demo
demo: setup
	@$(PY) -m infer info $(MODEL) >/dev/null
	$(PY) data/tools/export_corpus.py --articles $(DEMO_ARTICLES) --corpus $(CORPUS) \
		--out $(DEMO)/corpus.jsonl
	rm -rf $(DEMO)/scored.jsonl $(DEMO)/scored.jsonl.*
	$(PY) -m infer score $(DEMO)/corpus.jsonl $(DEMO)/scored.jsonl --model $(MODEL) \
		--id-field id --split-sentences $(ARGS)
	$(PY) -m report $(DEMO)/scored.jsonl $(DEMO) --input $(DEMO)/corpus.jsonl \
		--id-field id --freq day --model-name $(MODEL)
	@echo "demo report: $(abspath $(DEMO))/report.html (charts, tables and corpus beside it)"

## bench: speed and memory of the inference paths, side by side
bench: setup
	$(PY) -m bench --model $(MODEL) $(ARGS)

lint: setup
	$(VENV)/bin/ruff check .

clean:
	rm -rf models reports .pytest_cache .ruff_cache
