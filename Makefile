# Two commands for a fresh Linux machine with Python 3.10 or later: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# onnxruntime-openvino owns the same onnxruntime/ folder as onnxruntime: its own venv.
OV_VENV ?= .venv-openvino
OV_BIN := $(OV_VENV)/bin

.PHONY: demo test test-fast test-openvino install-check test-debian13 install-check-debian13 \
	test-debian14 lint docs bench clean

# Each venv with its extras; made afresh when pyproject.toml changes, so a package that left
# the dependencies (or a second OpenCV or onnxruntime wheel) never lingers.
$(BIN)/livematte: EXTRAS = cpu,dev,ray,docs
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

# The quick lane: everything but the end-to-end, Ray, browser and fuzz tests (marked slow).
test-fast: $(BIN)/livematte
	$(BIN)/python -m pytest -q -m "not slow"

# --device openvino for real, plus the device checks under that build.
test-openvino: $(OV_BIN)/livematte
	$(OV_BIN)/python -m pytest -q tests/test_openvino.py tests/test_devices.py

# Install as a user does: the wheel `python -m build` makes, with the [cpu] extra alone, in a
# fresh venv; then the demo, a picture, a clip with audio and doctor from that install.
install-check: $(BIN)/livematte
	tools/install_check.sh $(BIN)/python

# The whole suite under Debian's Python in a Debian root kept in DEBIAN_CACHE (made again when
# its package list changes; the venv inside when pyproject.toml does). Needs root.
# Chromium is Debian's, for the control page's browser test.
DEBIAN_CACHE ?= /var/tmp/livematte
DEBIAN_LIBS := ca-certificates,libxcb1,libgl1,libglib2.0-0t64
DEBIAN_APT := chromium
export DEBIAN_CACHE DEBIAN_APT

# Debian 13 (trixie): Python 3.13; the install check (as install-check) follows the suite.
DEBIAN13 := DEBIAN_PACKAGES=python3,python3-venv,python3-pip,$(DEBIAN_LIBS) EXTRAS=cpu,dev,ray
test-debian13:
	$(DEBIAN13) INSTALL_CHECK=1 tools/debian_suite.sh trixie $(PYTEST_ARGS)

install-check-debian13:
	$(DEBIAN13) INSTALL_CHECK=only tools/debian_suite.sh trixie

# Debian 14 in the making (forky, today's testing): Python 3.14.
test-debian14:
	DEBIAN_PACKAGES=python3.14,python3.14-venv,$(DEBIAN_LIBS) DEBIAN_PYTHON=python3.14 \
		EXTRAS=cpu,dev,ray tools/debian_suite.sh forky $(PYTEST_ARGS)

lint: $(BIN)/livematte
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(PYTHON) ../shared/tools/import_cycles.py src livematte 2>/dev/null || [ ! -f ../shared/tools/import_cycles.py ]

# The docs site (mkdocs.yml, docs/) into site/. --strict turns every warning (a broken link
# or anchor, a page left out of the nav, an API name mkdocstrings cannot find) into a
# failure; never add --quiet, which hides the warnings so that strict passes.
docs: $(BIN)/livematte
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

clean:
	rm -rf $(VENV) $(OV_VENV) site livematte-demo.mp4 livematte-demo.png
