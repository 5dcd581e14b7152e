#!/usr/bin/env bash
# Post-deploy step of every envs/*.yaml: install cgbench itself into the new environment.
# Snakemake runs it from the working directory of the run, which is the cgbench checkout;
# an editable install keeps the environment in step with the code.
set -euo pipefail
if ! grep -qs '^name = "cgbench"' pyproject.toml; then
  echo "run snakemake from the cgbench checkout (no cgbench pyproject.toml in $PWD)" >&2
  exit 1
fi
python -m pip install --no-deps --no-build-isolation -e .
