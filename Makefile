# FineVidBench: every target builds the environment it needs by itself.
# Usage: make eval [MODEL=...] [MODEL_ARGS=...] [DATA=...] [LIMIT=...] [OUT=...]; make sf2t [MODEL=... MODEL_ARGS=...
# RECIPE=... VIDEOS=... SET=k=v,...]; make savi [... PAIRS=savi|verifier|mixed ITERATIONS=N]; make test

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
EXTRAS ?= train,dev
# A CUDA machine keeps the user's torch (the venv sees the system site-packages); a CPU machine
# pins the CPU build of torch with a constraints file so pip never pulls CUDA wheels.
HAS_CUDA := $(shell command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 && echo 1)
ifeq ($(HAS_CUDA),1)
VENV_FLAGS := --system-site-packages
PIP_CONSTRAINTS :=
else
VENV_FLAGS :=
PIP_CONSTRAINTS := -c constraints-cpu.txt
endif

MODEL ?= random
MODEL_ARGS ?=
DATA ?= mini
LIMIT ?=
OUT ?= runs
PYTEST_ARGS ?=
SITE ?= site

.PHONY: help venv test lint eval sf2t savi submit leaderboard leaderboard-seeds bench clean

help:  ## list the targets
	@grep -E '^[a-z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

venv: $(STAMP)  ## create or update .venv (re-installs only when pyproject.toml changes)

$(STAMP): pyproject.toml constraints-cpu.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV_FLAGS) $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
ifneq ($(HAS_CUDA),1)
	$(PY) -m pip install --quiet $(PIP_CONSTRAINTS) torch
endif
	$(PY) -m pip install --quiet $(PIP_CONSTRAINTS) -e ".[$(EXTRAS)]"
	@touch $@

test: $(STAMP)  ## run the whole test suite (slow tests included)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)  ## ruff check and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

eval: $(STAMP)  ## evaluate MODEL on DATA through lmms-eval (default: random baseline on the mini set)
	$(PY) -m model_adapters.evaluate --model "$(MODEL)" --model_args "$(MODEL_ARGS)" --data "$(DATA)" \
		$(if $(LIMIT),--limit $(LIMIT)) --out "$(OUT)/$(MODEL)"

sf2t: $(STAMP)  ## SF2T: build fragment tasks from VIDEOS, fine-tune MODEL (LoRA), evaluate with and without it
	$(PY) -m model_adapters.sf2t $(if $(filter command line environment,$(origin MODEL)),--model "$(MODEL)") \
		--model_args "$(MODEL_ARGS)" $(if $(RECIPE),--recipe "$(RECIPE)") $(if $(VIDEOS),--videos "$(VIDEOS)") \
		$(if $(LABELS),--labels "$(LABELS)") $(if $(SET),--set "$(SET)") --data "$(DATA)" \
		$(if $(LIMIT),--limit $(LIMIT)) $(if $(filter command line environment,$(origin OUT)),--out "$(OUT)") \
		$(if $(ALLOW_CONTAMINATED),--allow-contaminated)

savi: $(STAMP)  ## self-alignment: VideoSAVi and/or verifier-checked DPO pairs, iterated, evaluated with and without
	$(PY) -m model_adapters.savi $(if $(filter command line environment,$(origin MODEL)),--model "$(MODEL)") \
		--model_args "$(MODEL_ARGS)" $(if $(RECIPE),--recipe "$(RECIPE)") $(if $(VIDEOS),--videos "$(VIDEOS)") \
		$(if $(LABELS),--labels "$(LABELS)") $(if $(SET),--set "$(SET)") $(if $(PAIRS),--pairs "$(PAIRS)") \
		$(if $(ITERATIONS),--iterations $(ITERATIONS)) $(if $(INIT_ADAPTER),--init-adapter "$(INIT_ADAPTER)") \
		--data "$(DATA)" $(if $(LIMIT),--limit $(LIMIT)) \
		$(if $(filter command line environment,$(origin OUT)),--out "$(OUT)") $(if $(ALLOW_CONTAMINATED),--allow-contaminated)

submit: $(STAMP)  ## validate, rescore and package RESULTS (a run folder) as leaderboard/submissions/<slug>
	@test -n "$(RESULTS)" || { echo "make submit: pass RESULTS=<run folder>, e.g. RESULTS=runs/random" >&2; exit 2; }
	$(PY) -m leaderboard submit --results "$(RESULTS)" $(if $(META),--meta "$(META)") $(if $(FORCE),--force)

leaderboard-seeds: $(STAMP)  ## re-evaluate the reference baselines on the mini set and rewrite their submissions
	$(PY) -m leaderboard seed

leaderboard: $(STAMP)  ## build the static site (site/) from every submission, rescored
	$(PY) -m leaderboard build --out "$(SITE)"

bench: $(STAMP)  ## measured ratios against baselines of the same run -> bench.json (a few minutes on CPU)
	$(PY) -m model_adapters.bench --out bench.json

clean:  ## remove the environment, caches and run outputs
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
