# The two commands a user needs: `make demo` and `make test`. Both set up .venv
# themselves on a fresh clone. `make help` lists every target.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export DBT_PROFILES_DIR := $(CURDIR)
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DO_NOT_TRACK := 1
export PYTHONUNBUFFERED := 1

# Demo data set: the default of `make demo`.
SEED ?= 42
DEMO_VISITORS ?= 40000
DEMO_DAYS ?= 90
DEMO_RAW ?= data/raw
DEMO_DB ?= data/shopfunnel.duckdb

# duckdb's bindings print a "nanobind: leaked ..." block at exit in any process that also
# imports Great Expectations; harmless, and filtered out so the test summary stays last.
DROP_LEAK_NOISE := 2> >(grep -v -E '^(nanobind: | - leaked | - \.\.\. skipped|See https://nanobind)' >&2)

# Test data set: every kind of dirt switched on; separate from the demo so
# `make test` never depends on `make demo`.
TEST_SEED ?= 7
TEST_VISITORS ?= 40000
TEST_DAYS ?= 90
TEST_RAW ?= data/test/raw
TEST_DB ?= data/test/shopfunnel.duckdb

.PHONY: help
help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; set PYTHON=/path/to/python3.11" >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

.PHONY: install
install: $(STAMP) ## Create .venv and install the pinned stack

# ---------------------------------------------------------------- demo
.PHONY: demo
demo: $(STAMP) ## Generate the default data set, build everything, print the headline figures
	$(BIN)/python -m shopfunnel generate --visitors $(DEMO_VISITORS) --days $(DEMO_DAYS) --seed $(SEED) --out $(DEMO_RAW)
	DUCKDB_PATH=$(DEMO_DB) $(BIN)/dbt seed --vars '{raw_path: $(DEMO_RAW)}' --full-refresh --quiet
	@# the data set was just written again: rebuild every model from it (a daily run is incremental)
	DUCKDB_PATH=$(DEMO_DB) $(BIN)/dbt build --vars '{raw_path: $(DEMO_RAW)}' --full-refresh
	$(BIN)/python -m shopfunnel publish --db $(DEMO_DB)
	$(BIN)/python -m shopfunnel report --db $(DEMO_DB)
	$(BIN)/python -m shopfunnel export --db $(DEMO_DB) --out exports

# ---------------------------------------------------------------- test
.PHONY: test
test: $(STAMP) lint test-data test-build validate pytest ## Lint, build with every data and unit test, validate, pytest

.PHONY: lint
lint: $(STAMP) ## sqlfluff on the models and tests, ruff on the Python, the workflows (offline)
	$(BIN)/ruff check src tests/python bench
	@mkdir -p data/lint
	DUCKDB_PATH=data/lint/lint.duckdb DBT_TARGET_PATH=data/lint/target $(BIN)/sqlfluff lint models tests --format human
	$(BIN)/actionlint -no-color
	$(BIN)/zizmor --offline --no-progress .github/workflows

.PHONY: test-data
test-data: $(STAMP)
	$(BIN)/python -m shopfunnel generate --visitors $(TEST_VISITORS) --days $(TEST_DAYS) --seed $(TEST_SEED) --out $(TEST_RAW) --dirt on

.PHONY: test-build
test-build: $(STAMP)
	@mkdir -p $(dir $(TEST_DB))
	$(BIN)/python -m shopfunnel validate --raw $(TEST_RAW) --stage raw --no-docs $(DROP_LEAK_NOISE)
	rm -f $(TEST_DB) $(TEST_DB).validation_state.json
	DUCKDB_PATH=$(TEST_DB) $(BIN)/dbt seed --vars '{raw_path: $(TEST_RAW)}' --quiet
	DUCKDB_PATH=$(TEST_DB) $(BIN)/dbt build --vars '{raw_path: $(TEST_RAW)}'
	@# unit tests of later incremental runs read the stored table: they run once it is built
	DUCKDB_PATH=$(TEST_DB) $(BIN)/dbt test --vars '{raw_path: $(TEST_RAW)}' --select tag:rerun

.PHONY: validate
validate: $(STAMP) ## Great Expectations gate on the test build (data docs under gx_docs/)
	$(BIN)/python -m shopfunnel validate --db $(TEST_DB) --raw $(TEST_RAW) --stage marts $(DROP_LEAK_NOISE)

.PHONY: pytest
pytest: $(STAMP)
	SHOPFUNNEL_TEST_DB=$(TEST_DB) SHOPFUNNEL_TEST_RAW=$(TEST_RAW) $(BIN)/pytest -q $(DROP_LEAK_NOISE)

# ---------------------------------------------------------------- spark
# The same project on Apache Spark (README "Running on Spark"): pyspark in local mode through
# dbt-spark's session method, Java 17 from Debian. Installs what it needs on a fresh clone.
SPARK_STAMP := $(VENV)/.installed-spark
SPARK_WORK ?= data/spark-test

$(SPARK_STAMP): $(STAMP) requirements-spark.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -r requirements-spark.lock
	@touch $(SPARK_STAMP)

.PHONY: spark-java
spark-java:
	@if java -version 2>&1 | grep -q -E 'version "(17|21)'; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; \
	else \
		echo "error: Spark needs Java 17; run: sudo apt-get install -y openjdk-17-jre-headless" >&2; exit 1; \
	fi

.PHONY: test-spark
test-spark: spark-java $(SPARK_STAMP) ## Build the whole DAG on local Spark and compare every mart with DuckDB
	rm -rf $(SPARK_WORK)
	@mkdir -p $(SPARK_WORK)
	SHOPFUNNEL_TEST_SPARK=1 SHOPFUNNEL_SPARK_WORK=$(CURDIR)/$(SPARK_WORK) SPARK_LOCAL_IP=127.0.0.1 \
		$(BIN)/pytest -q -p no:cacheprovider tests/python/test_spark_equivalence.py $(DROP_LEAK_NOISE)

# ---------------------------------------------------------------- daily
RAW ?= $(DEMO_RAW)
DB ?= $(DEMO_DB)

.PHONY: daily
daily: $(STAMP) ## The daily pipeline on RAW (default data/raw): raw gate, incremental build, marts gate, publish
	$(BIN)/python -m shopfunnel daily --raw $(RAW) --db $(DB)

# ---------------------------------------------------------------- other
.PHONY: docs
docs: $(STAMP) ## dbt docs generate (target/index.html) on the demo build
	DUCKDB_PATH=$(DEMO_DB) $(BIN)/dbt docs generate --vars '{raw_path: $(DEMO_RAW)}'
	@echo "docs written to target/index.html (serve with: $(BIN)/dbt docs serve)"

.PHONY: bench
bench: $(STAMP) ## Benchmarks (see bench/RESULTS.md)
	$(BIN)/python bench/run_bench.py

.PHONY: bench-engines
bench-engines: spark-java $(SPARK_STAMP) ## DuckDB and local Spark on the same ~1M events (README "Running on Spark")
	SPARK_LOCAL_IP=127.0.0.1 $(BIN)/python bench/bench_engines.py

.PHONY: clean
clean: ## Remove build outputs and generated data (keeps .venv)
	rm -rf target logs data exports gx_docs .pytest_cache

.PHONY: distclean
distclean: clean ## Also remove .venv
	rm -rf $(VENV)

# ---------------------------------------------------------------- slim CI
# The pull-request logic of .github/workflows/pr.yml, run locally (python -m shopfunnel slim-ci).
# On main: `make ci-state` builds the production state; on a branch: `make ci-slim` lints
# the changed SQL, builds state:modified+ with --defer in a clone of that warehouse and
# validates. CI_LINT_BASE=main lints what changed since the merge-base instead of vs the state.
CI_STATE ?= target-prod
CI_RAW ?= data/ci/raw
CI_VISITORS ?= 2000
CI_DAYS ?= 30
CI_SEED ?= 11
CI_LINT_BASE ?=

.PHONY: ci-state
ci-state: $(STAMP) ## Slim CI: build the production state (manifest + warehouse) in target-prod/
	$(BIN)/python -m shopfunnel generate --visitors $(CI_VISITORS) --days $(CI_DAYS) --seed $(CI_SEED) --out $(CI_RAW) --quiet
	$(BIN)/python -m shopfunnel slim-ci build-state --state $(CI_STATE) --raw $(CI_RAW) --validate

.PHONY: ci-slim
ci-slim: $(STAMP) ## Slim CI: lint changed SQL, build state:modified+ against target-prod/, validate
	$(BIN)/python -m shopfunnel slim-ci run --state $(CI_STATE) $(if $(CI_LINT_BASE),--lint-base $(CI_LINT_BASE),)

.PHONY: structure
structure: $(STAMP) ## Structure checks on a fresh dbt parse (rules set to warn are listed, not failed)
	$(BIN)/python -m shopfunnel structure --parse

# ---------------------------------------------------------------- serving (BI tools)
# Write-audit-publish (docs/serving.md): BI tools open the serving file, never the build.
# `make bi` installs Superset in its own virtualenv; `make test` needs it and Debian's
# postgresql and chromium (installed with apt-get when root, else the command is printed).
BI_VENV := .venv-bi
BI_STAMP := $(BI_VENV)/.installed
BI_PORT ?= 8088

$(BI_STAMP): bi/requirements.lock
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; set PYTHON=/path/to/python3.11" >&2; exit 1; }
	@test -x $(BI_VENV)/bin/python || $(PYTHON) -m venv $(BI_VENV)
	$(BI_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r bi/requirements.lock
	@touch $(BI_STAMP)

.PHONY: bi
bi: $(BI_STAMP) ## Apache Superset 6.1 in its own virtualenv (.venv-bi)

.PHONY: bi-up
bi-up: $(STAMP) $(BI_STAMP) ## Superset on 127.0.0.1:$(BI_PORT) with the case-study dashboard (after make demo)
	BI_PORT=$(BI_PORT) bash bi/up.sh

.PHONY: serve-deps
serve-deps: ## Debian packages of the serving tests: postgresql, chromium (apt-get when root)
	@missing=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing$$missing with apt-get"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else \
	    echo "error: Debian packages missing:$$missing. Run: sudo apt-get update && sudo apt-get install -y$$missing" >&2; \
	    exit 1; \
	  fi; \
	fi

# the full pytest run (make test) also starts Superset and PostgreSQL
pytest: $(BI_STAMP) serve-deps

.PHONY: lint-bi
lint-bi: $(STAMP)
	$(BIN)/ruff check bi

lint: lint-bi

.PHONY: test-quick
test-quick: $(STAMP) lint test-data test-build validate ## make test without Superset, PostgreSQL and the slow tests (load test, slim CI)
	SHOPFUNNEL_TEST_DB=$(TEST_DB) SHOPFUNNEL_TEST_RAW=$(TEST_RAW) $(BIN)/pytest -q -m "not slow and not superset and not postgres" $(DROP_LEAK_NOISE)
