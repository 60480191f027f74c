# amlfs: `make demo` runs the main job, `make test` runs both test suites.
# Each target installs what it needs: node_modules (npm ci) and a Python venv with the
# CPU build of torch and the `python/` package. A GPU user installs their CUDA build of
# torch into .venv first (or points PYTHON at an environment that has it).

PYTHON_BOOT ?= python3
VENV        := .venv
PY          := $(VENV)/bin/python
TORCH_SPEC  ?= torch==2.13.0

.PHONY: all setup test test-ts test-py test-upstream upstream-venv check-generated demo bench clean

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
# reference -> proto/vectors; the Python registries -> proto/catalog.json; the option tables ->
# docs/baselines.md).
check-generated: setup
	npx tsx src/schema/generate.ts --check
	$(PY) tools/make_vectors.py --check
	$(PY) tools/make_catalog.py --check
	$(PY) tools/make_baselines_doc.py --check

# upstream-venv: test/upstream/ runs real searches through the adapters with its Python.
test-ts: setup upstream-venv
	npx tsc --noEmit
	npx vitest run

test-py: setup
	cd python && ../$(PY) -m pytest -q

test: check-generated test-ts test-py test-upstream

# A second venv for the upstream adapters (baseline `upstream`, python/amlfs/upstream/): the
# authors' repositories need torchvision, which does not import beside the CPU torch==2.13.0,
# so this one takes a torch/torchvision pair that import together (a CUDA build that runs on
# the CPU here, about 5.5 GB; on aarch64 a CPU build), OpenCV (CoinCheung imports cv2) and
# the python/ package. Workers use it through AMLFS_PYTHON=.venv-upstream/bin/python.
UPSTREAM_VENV := .venv-upstream
UPSTREAM_PY   := $(UPSTREAM_VENV)/bin/python
ifeq ($(shell uname -m),aarch64)
UPSTREAM_TORCH_SPEC ?= torch==2.9.1 torchvision==0.24.1
else
UPSTREAM_TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
endif
# The snapshots of the upstream code the adapter tests run (read-only, never copied).
AMLFS_UPSTREAM_DIR ?= $(abspath ../shared/upstream)
export AMLFS_UPSTREAM_DIR

$(UPSTREAM_VENV)/.stamp: python/pyproject.toml
	test -x $(UPSTREAM_PY) || $(PYTHON_BOOT) -m venv $(UPSTREAM_VENV)
	$(UPSTREAM_PY) -c "import torchvision" 2>/dev/null || $(UPSTREAM_PY) -m pip install --quiet $(UPSTREAM_TORCH_SPEC)
	$(UPSTREAM_PY) -c "import cv2" 2>/dev/null || $(UPSTREAM_PY) -m pip install --quiet opencv-python-headless
	$(UPSTREAM_PY) -m pip install --quiet -e "python[test]"
	touch $@

upstream-venv: $(UPSTREAM_VENV)/.stamp

# The adapters over the upstream code and their parity with the built-in ports, in that venv.
test-upstream: setup upstream-venv
	cd python && ../$(UPSTREAM_PY) -m pytest -q tests/upstream

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
	rm -rf node_modules $(VENV) $(UPSTREAM_VENV)

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
