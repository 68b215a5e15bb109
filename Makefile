# Two commands for a fresh Linux machine with Python 3.10-3.12: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean

$(BIN)/livematte: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[cpu,dev]'
	@touch $@

demo: $(BIN)/livematte
	$(BIN)/livematte demo

test: $(BIN)/livematte
	$(BIN)/python -m pytest -q

lint: $(BIN)/livematte
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

clean:
	rm -rf $(VENV) livematte-demo.mp4 livematte-demo.png
