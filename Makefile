# One command sets everything up: a local virtual environment with the pinned CPU build of
# PyTorch, seqbench itself (editable) and the test tools. Targets re-install only when
# pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
TORCH_PIN := torch==2.13.0

.PHONY: run test demo bench bench-quick clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check $(TORCH_PIN)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)  ## open the app on the bundled sample data
	$(BIN)/seqbench

demo: $(STAMP)  ## a short headless training run
	$(BIN)/seqbench train --task reverse --steps 400 --eval-every 200

test: $(STAMP)  ## the whole test suite (a few minutes on 2 CPU cores)
	$(BIN)/python -m pytest

bench: $(STAMP)  ## every benchmark, full length; writes benchmarks/results/
	$(BIN)/python -m benchmarks

bench-quick: $(STAMP)  ## every benchmark for a few seconds (proves the harness works)
	$(BIN)/python -m benchmarks --quick

clean:
	rm -rf $(VENV) *.egg-info
