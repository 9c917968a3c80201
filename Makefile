# crossling: `make demo` runs the offline demo, `make test` the test suite. Both set up .venv first (idempotent).
VENV ?= .venv
PYTHON ?= python3
TORCH_SPEC ?= torch==2.13.0
PY := $(VENV)/bin/python
STAMP := $(VENV)/.crossling-installed

.PHONY: install lint test soak demo demo-quick bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e '.[offline,test,typology,cluster,tracking,images,faiss]'
	touch $(STAMP)

install: $(STAMP)

# ruff's settings are in pyproject.toml ([tool.ruff]).
lint: $(STAMP)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

# -rs: every skipped test is listed with its reason.
test: lint
	$(PY) -m pytest -q -rs

soak: $(STAMP)
	$(PY) -m pytest -q -m "soak or slow"

demo: $(STAMP)
	$(VENV)/bin/crossling demo

demo-quick: $(STAMP)
	$(VENV)/bin/crossling demo --quick

bench: $(STAMP)
	$(PY) bench/run_all.py --quick

clean:
	rm -rf $(VENV) runs .pytest_cache
