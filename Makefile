# Two commands: `make demo` runs the whole study on config/config.yaml; `make test` runs the tests.
# Both install what is missing first (Debian packages, then a .venv with cgbench) and install
# nothing on a second run.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
SNAKEMAKE := $(VENV)/bin/snakemake
CORES ?= $(shell nproc)
APT_PACKAGES := gromacs votca
# the CPU build of torch; a bare `pip install torch` would pull several GB of CUDA packages
TORCH := torch==2.13.0
STAMP := $(VENV)/.cgbench-installed

.PHONY: demo test install system slurm lint clean pretrain

demo: install
	$(SNAKEMAKE) --cores $(CORES) --configfile config/config.yaml
	$(SNAKEMAKE) --cores 1 --configfile config/config.yaml --report results/report.html
	@echo "report: results/report.html"

test: install slurm
	$(VENV)/bin/pytest -q --durations=8 tests

lint: install
	$(SNAKEMAKE) --lint --configfile config/test.yaml
	$(VENV)/bin/snakefmt --check Snakefile workflow

install: system $(STAMP)

# Debian packages, only when a tool is missing
system:
	@missing=""; \
	command -v gmx >/dev/null || missing="$$missing gromacs"; \
	command -v csg_inverse >/dev/null || missing="$$missing votca"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(APT_PACKAGES); \
	fi

# a one-node SLURM for the test of profiles/slurm (tests/slurm/localslurm.sh starts and stops it)
slurm:
	@if [ "$$(id -u)" = 0 ]; then tests/slurm/localslurm.sh install; \
	else echo "not root: the SLURM test will be skipped"; fi

$(PY):
	python3 -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

clean:
	rm -rf results .snakemake

# The shipped TMBT DBM model, on one AA run of its own (config/dbm_pretrain.yaml, another seed than
# the demo's): training from scratch on reference frames (kept in resources/tmbt/dbm/base/), then
# SELF_ROUNDS fine-tunes on the previous model's own backmaps (config/dbm_pretrain_self.yaml), each
# in pretrain/self<k>/, which links the first run's AA trajectory instead of running it again. Every
# training resumes after an interruption.
PRETRAIN := pretrain
SELF_ROUNDS := 2
SHIPPED_FILES := model.pt model.json MODEL.md quality.json training.png
pretrain: install
	mkdir -p $(PRETRAIN) && ln -sfn ../resources $(PRETRAIN)/resources && ln -sfn ../config $(PRETRAIN)/config
	$(SNAKEMAKE) --cores $(CORES) --directory $(PRETRAIN) results/dbm/shipped/model.pt --configfile config/dbm_pretrain.yaml
	mkdir -p resources/tmbt/dbm/base
	cd $(PRETRAIN)/results/dbm/shipped && cp $(SHIPPED_FILES) ../../../../resources/tmbt/dbm/base/
	set -e; init=resources/tmbt/dbm/base/model.pt; \
	for k in $$(seq 1 $(SELF_ROUNDS)); do \
		d=$(PRETRAIN)/self$$k; mkdir -p $$d/results; \
		ln -sfn ../../resources $$d/resources; ln -sfn ../../config $$d/config; \
		ln -sfn ../../results/aa $$d/results/aa; ln -sfn ../../results/molecule $$d/results/molecule; \
		$(SNAKEMAKE) --cores $(CORES) --directory $$d results/dbm/shipped/model.pt \
			--configfile config/dbm_pretrain.yaml config/dbm_pretrain_self.yaml \
			--config "dbm={'train': {'init_from': '$$init'}}"; \
		init=../self$$k/results/dbm/shipped/model.pt; \
	done; \
	cd $(PRETRAIN)/self$(SELF_ROUNDS)/results/dbm/shipped && cp $(SHIPPED_FILES) ../../../../../resources/tmbt/dbm/
	@echo "shipped: resources/tmbt/dbm/model.pt (card: resources/tmbt/dbm/MODEL.md; first phase: resources/tmbt/dbm/base/)"
