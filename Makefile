# make run   — install (first time) and start clipforge on http://127.0.0.1:8000 (HOST/PORT override)
# make test  — install/refresh and run the whole test suite
# make test-fast — the same without real renders, worker processes or Postgres (about two minutes)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test test-fast lint format bench bench-segments bench-live clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "clipforge needs Python 3.11+"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/clipforge up

# Two processes (pytest-xdist): most tests wait on workers, sockets and renders in other processes, so two
# keep both cores busy. Each process has its own Redis db and Postgres database (tests/conftest.py).
TEST_PROCESSES ?= 2

test: install
	$(BIN)/pytest -n $(TEST_PROCESSES) --dist loadgroup

test-fast: install
	$(BIN)/pytest -n $(TEST_PROCESSES) --dist loadgroup -m "not slow and not postgres" -q

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# make bench BENCH_ARGS="--quick"  (or --runs N, --skip-moviepy, --no-w2, --clipforge-ref HEAD; see --help)
bench: install
	$(BIN)/python -c 'import moviepy, imageio_ffmpeg, skimage, psutil' 2>/dev/null \
		|| $(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/render.py $(BENCH_ARGS)
	$(BIN)/python bench/explainer.py
	$(BIN)/python bench/product_ad.py
	$(BIN)/python bench/short.py
	$(BIN)/python bench/segments.py

# make bench-segments BENCH_ARGS="--encoder h264_nvenc"  (W2 in one piece on one core vs segments on two)
bench-segments: install
	$(BIN)/python -c 'import skimage' 2>/dev/null || $(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/segments.py $(BENCH_ARGS)

# make bench-live BENCH_ARGS="--rows 500 --scale 0.2"  (live progress under load; see bench/subscriptions.py --help)
bench-live: install
	$(BIN)/python bench/subscriptions.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
