# The two commands: `make demo` and `make test`. Both create .venv when missing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast bench notebooks docs system-deps clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install -q -e ".[test,spark]"
	touch $(STAMP)

# Java for Spark's local mode; installed from the distribution when missing.
system-deps:
	@bash scripts/system-deps.sh

demo: $(STAMP)
	$(VENV)/bin/riskml demo

test: $(STAMP) system-deps
	$(PY) -m pytest -q

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow and not spark and not server"

bench: $(STAMP)
	$(PY) -m benchmarks.synth

# Run every notebook from its .py and store the outputs in the paired .ipynb
notebooks: $(STAMP)
	$(PY) notebooks/execute.py

# The API reference from the numpydoc docstrings, warnings as errors
docs: $(STAMP)
	$(PY) -m sphinx -W --keep-going -b html docs/api docs/api/_build/html

clean:
	rm -rf $(VENV) .riskml .pytest_cache docs/api/_build
