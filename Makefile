# csconnect: two commands do everything on a fresh machine.
#   make demo   create .venv, install csconnect and every first-party plugin, run the demo pipeline
#   make test   the same install, then the whole test suite
#   make bench  the full benchmarks (docs/benchmarks.md; about 2 hours on 2 cores): dlt, the sync
#               benchmark's yardstick, goes into its own venv (.venv-bench), never into .venv
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PLUGINS := $(sort $(dir $(wildcard connectors/*/pyproject.toml metric_packs/*/pyproject.toml plugins/*/pyproject.toml)))
STAMP  := $(VENV)/.installed
BENCH_VENV  ?= .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed

.PHONY: install demo test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml $(addsuffix pyproject.toml,$(PLUGINS))
	$(BIN)/python -m pip install --quiet -e '.[test]' $(foreach p,$(PLUGINS),-e ./$(p))
	@touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/csconnect demo

test: install
	$(BIN)/python -m pytest tests $(foreach p,$(PLUGINS),$(wildcard $(p)tests))

$(BENCH_STAMP): bench/requirements-dlt.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -r bench/requirements-dlt.txt
	@touch $(BENCH_STAMP)

bench: install $(BENCH_STAMP)
	$(BIN)/python bench/sync_bench.py --records 1000000 --variants plain,csconnect,dlt-parquet
	$(BIN)/python bench/resync_bench.py
	$(BIN)/python bench/metrics_bench.py --scales 1,2

clean:
	rm -rf $(VENV) $(BENCH_VENV) csconnect-demo .pytest_cache
