# Every target works on a fresh machine with only Python: the venv is made and filled on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow lint bench notebooks clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/simlab demo --out out/demo --force

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/python -m pytest -m "not slow" -q

notebooks: $(STAMP)
	$(BIN)/python notebooks/run_all.py --out out/notebooks

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow -q

bench: $(STAMP)
	$(BIN)/python bench/generation.py
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/detectors.py
	$(BIN)/python bench/detectors.py --peers

clean:
	rm -rf $(VENV) out build *.egg-info
