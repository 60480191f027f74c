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
# reference -> proto/vectors; the Python registries -> proto/catalog.json).
check-generated: setup
	npx tsx src/schema/generate.ts --check
	$(PY) tools/make_vectors.py --check
	$(PY) tools/make_catalog.py --check

test-ts: setup
	npx tsc --noEmit
	npx vitest run

test-py: setup
	cd python && ../$(PY) -m pytest -q

test: check-generated test-ts test-py

# The demo: the baseline and an AM-LFS search on scikit-learn's bundled digits (20 % label
# noise, small CNN, CPU workers) through the same machinery, then their test metrics side by side.
ifndef DEMO_DIR
DEMO_DIR := runs/demo-$(shell date +%Y%m%d-%H%M%S)
endif

demo: setup
	npx amlfs search configs/demo/digits-baseline.json --out $(DEMO_DIR)/baseline
	npx amlfs search configs/demo/digits-amlfs.json --out $(DEMO_DIR)/amlfs
	@echo
	@echo "Baseline vs AM-LFS (clean test split, touched once per run):"
	npx amlfs compare $(DEMO_DIR)/baseline $(DEMO_DIR)/amlfs
	@echo "Run directories: $(DEMO_DIR)/baseline and $(DEMO_DIR)/amlfs (journal.jsonl, checkpoints/, final/)"

bench: setup
	$(PY) bench/loss_speed.py
	npx tsx bench/controller_overhead.ts
	npx tsx bench/scale_check.ts
	npx tsx bench/checkpoint_transfer.ts
	$(PY) bench/reid_eval.py
	$(PY) bench/face_identification.py

clean:
	rm -rf node_modules $(VENV)

# The fault-injection suite (docs/faults.md) with more seeds than `make test` runs.
.PHONY: faults-long
faults-long: setup
	AMLFS_FAULTS=long npx vitest run test/faults

# A single-node Slurm cluster on this host (Debian, as root) for the slurm launcher's tests;
# without it those tests skip and say why. `tools/slurm/setup-single-node.sh --stop` stops it.
.PHONY: slurm-up
slurm-up:
	tools/slurm/setup-single-node.sh

# Headless Chromium from Debian's packages for the report's browser test
# (test/report/browser.test.ts) and `amlfs report --png`; without it that test skips and says why.
.PHONY: browser
browser:
	test -x /usr/bin/chromium || { apt-get update && apt-get install -y --no-install-recommends chromium; }
