# kernel.nvim developer entry points. `make test` and `make demo` are the documented ones.
# Recipes use bash; every recipe line must succeed or make stops.
.POSIX:
SHELL = /bin/bash

VENV = .venv
STAMP = $(VENV)/.installed

.PHONY: help test lint demo bench clean

help:
	@echo "make test   set up .venv, then ruff, mypy and pytest (extra args: PYTEST_ARGS=...)"
	@echo "make demo   start a Jupyter kernel and open examples/demo.py in Neovim"
	@echo "make lint   ruff and mypy only"
	@echo "make bench  run bench/run.py"
	@echo "make clean  remove .venv and .demo"

# The editable install means edits to rplugin/python3 need no reinstall; only
# a change of dependencies (pyproject.toml) rebuilds the venv.
$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q -e '.[dev]'
	scripts/ensure-nvim $(VENV)
	touch $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: lint
	NVIM_BIN="$$(cat $(VENV)/nvim-path)" $(VENV)/bin/python -m pytest $(PYTEST_ARGS)

demo: $(STAMP)
	scripts/demo

bench: $(STAMP)
	$(VENV)/bin/python bench/run.py

clean:
	rm -rf $(VENV) .demo
