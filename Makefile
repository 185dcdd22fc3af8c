# Set-up and everyday commands. `make demo` and `make test` are the two README commands:
# each creates the virtual environment on first use, so a fresh machine needs nothing else.
VENV   ?= .venv
PY     := $(VENV)/bin/python
DQM    := $(VENV)/bin/dqm
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

VIEWER := dqm/semantic/server/static/vendor/openseadragon.min.js

.PHONY: setup viewer demo test test-fast lint bench browser wheelhouse clean

# The review server's slide viewer (OpenSeadragon) comes from the npm registry, pinned with its
# integrity hash in package-lock.json, and is copied into the package (git-ignored, shipped as
# package data); it is never loaded from a CDN. Without npm the rest still installs, and
# `dqm review serve` refuses to start with a message saying so.
$(VIEWER): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  npm ci --no-audit --no-fund --ignore-scripts && mkdir -p $(dir $(VIEWER)) && \
	  cp node_modules/openseadragon/build/openseadragon/openseadragon.min.js $(VIEWER) && \
	  cp node_modules/openseadragon/LICENSE.txt $(dir $(VIEWER))openseadragon.LICENSE.txt; \
	else echo "npm not found: the review server's viewer is not installed (install npm, then make viewer)"; fi

viewer: $(VIEWER)

$(STAMP): pyproject.toml constraints.txt | $(VIEWER)
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

# Headless Chromium for the browser tests and `dqm report --pdf`, with a CJK font so a Korean
# report (--lang ko) prints Hangul rather than boxes (Debian packages; needs root). Skipped with a
# message where apt-get is not available; the browser tests then skip with that reason.
browser:
	@{ command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -q "Noto Sans CJK"; } || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	  else echo "chromium or fonts-noto-cjk not installed and cannot install them here: browser tests will skip or fail"; fi; }

demo: setup
	$(DQM) synth examples/batch --slides 60 --seed 7 --defect-rate 0.15 --force
	$(DQM) audit examples/batch --out out/demo; rc=$$?; \
	  echo "report: out/demo/report.html (exit code $$rc: 0 certified, 1 not certified - the example batch has injected defects)"; \
	  test $$rc -le 1

test: setup browser
	$(PY) -m pytest -n auto $(PYTEST_ARGS)

test-fast: setup
	$(PY) -m pytest -n auto -m "not slow and not browser" $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check dqm validators reports tests benchmarks
	$(VENV)/bin/ruff format --check dqm validators reports tests benchmarks
	$(VENV)/bin/mypy

# Every wheel dqm needs on this platform (the CPU build of torch included), for a machine with no
# network: pip install --no-index --find-links $(WHEELHOUSE) dqm  (README: "Installing without internet").
WHEELHOUSE ?= wheelhouse
wheelhouse: setup
	rm -rf $(WHEELHOUSE)
	$(PY) -m pip wheel --quiet -c constraints.txt -w $(WHEELHOUSE) .
	@echo "wheelhouse: $(WHEELHOUSE) ($$(ls $(WHEELHOUSE) | wc -l) wheels)"

bench: setup
	$(PY) benchmarks/bench_validate.py

clean:
	rm -rf out examples/batch benchmarks/_data node_modules wheelhouse
