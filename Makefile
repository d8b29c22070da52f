# Two entry points for a fresh machine with Python 3.11:
#   make run    set up .venv and run the notebook pipeline (the real experiment)
#   make test   set up .venv and run the test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
OUTPUT ?= outputs
ARGS ?=

.PHONY: setup run smoke test lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m helpers.pipeline --output-dir $(OUTPUT) $(ARGS)

smoke: $(STAMP)
	$(PY) -m helpers.pipeline --smoke --output-dir $(OUTPUT)/smoke $(ARGS)

# pytest exits 5 when it collected nothing: that must fail, not pass silently.
test: $(STAMP)
	$(PY) -m ruff check helpers tests benchmarks notebooks
	$(PY) -m pytest $(ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc

lint: $(STAMP)
	$(PY) -m ruff check helpers tests benchmarks notebooks
	$(PY) -m ruff format --check helpers tests benchmarks

bench: $(STAMP)
	$(PY) benchmarks/bench_quantum.py
	$(PY) benchmarks/bench_embedding.py
	$(PY) benchmarks/bench_landscape.py

clean:
	rm -rf $(VENV) $(OUTPUT)
