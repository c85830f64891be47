# artifact-gc developer entry points. Every target bootstraps .venv itself when it is missing or stale.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# Terraform outputs for gc-dry-run: a directory to run `terraform output -json` in, or a saved copy.
TF_DIR ?= terraform
TF_OUTPUTS ?=
PLAN ?= gc-plan.jsonl
# Prefer the user's own terraform/tofu on PATH.
TERRAFORM ?= $(shell command -v terraform || command -v tofu || echo terraform)

.PHONY: help demo test gc-dry-run lint bench venv clean

help:
	@echo "make demo        run the GC on an embedded local S3 + DynamoDB stack (APPLY=1 also deletes)"
	@echo "make test        run the test suite"
	@echo "make gc-dry-run  plan against real AWS from Terraform outputs (TF_DIR=terraform or TF_OUTPUTS=file)"
	@echo "make lint        ruff"
	@echo "make bench       mark throughput vs the seed article's matcher"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python && $(BIN)/python -c 'import sys' 2>/dev/null || { rm -rf $(VENV); $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/python scripts/demo.py $(if $(APPLY),--apply,)

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2

gc-dry-run: $(STAMP)
	$(BIN)/artifact-gc plan --out $(PLAN) \
	  $(if $(TF_OUTPUTS),--tf-outputs $(TF_OUTPUTS),--tf-dir $(TF_DIR) --terraform-bin $(TERRAFORM))

lint: $(STAMP)
	$(BIN)/ruff check gc tests scripts
	$(BIN)/ruff format --check gc tests scripts

bench: $(STAMP)
	$(BIN)/python scripts/bench.py

clean:
	rm -rf $(VENV) .demo .pytest_cache .ruff_cache .hypothesis
