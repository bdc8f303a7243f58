# csconnect: two commands do everything on a fresh machine.
#   make demo   create .venv, install csconnect and every first-party plugin, run the demo pipeline
#   make test   the same install, then the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PLUGINS := $(sort $(dir $(wildcard connectors/*/pyproject.toml metric_packs/*/pyproject.toml plugins/*/pyproject.toml)))
STAMP  := $(VENV)/.installed

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

bench: install
	$(BIN)/python bench/sync_bench.py

clean:
	rm -rf $(VENV) csconnect-demo .pytest_cache
