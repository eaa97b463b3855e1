# Two commands on a fresh machine: `make demo` and `make test`. Both create or reuse .venv and
# (re)install the project only when its packaging inputs changed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
STAMP := $(VENV)/.fuseflow-installed
BUILD_TOOLS := scikit-build-core==1.1.2 cython==3.3.1 cython-cmake==0.3.0 cmake==4.4.4 ninja==1.13.2
# Everything that changes what the editable install must (re)build: the build files, the Cython
# sources, and the package directories (the editable import hook maps modules at install time,
# so a new subpackage or module needs a reinstall).
PACKAGE_DIRS := $(shell find python/fuseflow dialects passes sim -type d -not -name __pycache__ 2>/dev/null)
INSTALL_INPUTS := pyproject.toml CMakeLists.txt $(wildcard sim/*.pyx sim/*.pxd sim/*.pxi) $(PACKAGE_DIRS)

.PHONY: all install demo test lint lit unit clean hebo-env

all: test

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(VENV)/bin/python $(INSTALL_INPUTS)
	$(PIP) install $(BUILD_TOOLS)
	$(PIP) install torch==2.13.0
	$(PIP) install --no-build-isolation -e '.[dev,tune,ray]'
	@touch $@

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/fuseflow demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .

lit: $(STAMP)
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(VENV)/bin/lit -sv test/lit

unit: $(STAMP)
	$(VENV)/bin/pytest -q

test: lint lit unit

# HEBO, a peer of bench/tuner_compare.py only, in an environment of its own (it needs numpy < 1.25).
HEBO_VENV := .venv-hebo
hebo-env: $(HEBO_VENV)/.installed

$(HEBO_VENV)/.installed: bench/requirements-hebo.txt
	$(PYTHON) -m venv $(HEBO_VENV)
	$(HEBO_VENV)/bin/python -m pip --disable-pip-version-check -q install torch==2.13.0 -r bench/requirements-hebo.txt
	@touch $@

clean:
	rm -rf build $(VENV) $(HEBO_VENV) test/lit/**/Output
