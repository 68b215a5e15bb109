# Two commands for a fresh Linux machine with Python 3.10 or later: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# onnxruntime-openvino owns the same onnxruntime/ folder as onnxruntime: its own venv.
OV_VENV ?= .venv-openvino
OV_BIN := $(OV_VENV)/bin

.PHONY: demo test test-openvino lint bench clean

# Each venv with its extras; made afresh when pyproject.toml changes, so a package that left
# the dependencies (or a second OpenCV or onnxruntime wheel) never lingers.
$(BIN)/livematte: EXTRAS = cpu,dev,ray
$(OV_BIN)/livematte: EXTRAS = openvino,dev
$(BIN)/livematte $(OV_BIN)/livematte: pyproject.toml
	rm -rf $(dir $(@D))
	$(PYTHON) -m venv $(dir $(@D))
	$(@D)/python -m pip install --quiet --upgrade pip
	$(@D)/python -m pip install --quiet -e '.[$(EXTRAS)]'
	@touch $@

demo: $(BIN)/livematte
	$(BIN)/livematte demo

test: $(BIN)/livematte
	$(BIN)/python -m pytest -q
	$(MAKE) test-openvino

# --device openvino for real, plus the device checks under that build.
test-openvino: $(OV_BIN)/livematte
	$(OV_BIN)/python -m pytest -q tests/test_openvino.py tests/test_devices.py

lint: $(BIN)/livematte
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

clean:
	rm -rf $(VENV) $(OV_VENV) livematte-demo.mp4 livematte-demo.png
