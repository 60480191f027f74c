# amlfs: `make demo` runs the main job, `make test` runs both test suites.
# Each target installs what it needs: node_modules (npm ci) and a Python venv with the
# CPU build of torch and the `python/` package. A GPU user installs their CUDA build of
# torch into .venv first (or points PYTHON at an environment that has it).

PYTHON_BOOT ?= python3
VENV        := .venv
PY          := $(VENV)/bin/python
TORCH_SPEC  ?= torch==2.13.0

.PHONY: all setup test test-ts test-py check-generated demo bench clean

all: test

node_modules/.stamp: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

$(VENV)/.stamp: python/pyproject.toml
	test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install --quiet $(TORCH_SPEC)
	$(PY) -m pip install --quiet -e "python[test,demo]"
	touch $@

setup: node_modules/.stamp $(VENV)/.stamp

# Generated and golden files must match their sources (zod -> JSON Schema; the float64
# reference -> proto/vectors).
check-generated: setup
	npx tsx src/schema/generate.ts --check
	$(PY) tools/make_vectors.py --check

test-ts: setup
	npx tsc --noEmit
	npx vitest run

test-py: setup
	cd python && ../$(PY) -m pytest -q

test: check-generated test-ts test-py

demo: setup
	@echo "make demo: the end-to-end AM-LFS search (controller + Python workers) arrives with issue 3;"
	@echo "until then, 'make test' and 'make bench' exercise what exists."
	@exit 2

bench: setup
	$(PY) bench/loss_speed.py

clean:
	rm -rf node_modules $(VENV)
