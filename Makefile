# Two commands work on a fresh machine: `make demo` and `make test`. Each sets up .venv itself.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: demo test lint typecheck unit browser java bench-scale bench bench-monitor bench-durable bench-groups import-graph record-shape clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# compileall: with PYTHONDONTWRITEBYTECODE set, an editable install would compile svcpolicy from source at every
# start (~0.2 s of a short run); the .pyc files written here are used until a source file changes.
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m compileall -q src
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/svcpolicy check examples/records.jsonl --as-of 2026-11-27T00:00:00+08:00 || test $$? -eq 1

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# Debian's chromium + chromium-driver for the HTML report's browser test: installed when missing and root (CI).
browser:
	sh scripts/ensure-chromium

# Debian's headless OpenJDK for the Spark engine's tests: installed when missing and root (CI).
java:
	sh scripts/ensure-java

unit: $(STAMP) browser java
	$(BIN)/pytest -q

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python bench/bench.py $(BENCH_ARGS)

# The event monitor: events/s and peak RSS over 1 M events with ~50 k open complaints (not part of `make test`).
bench-monitor: $(STAMP)
	$(BIN)/python bench/bench_monitor.py $(BENCH_ARGS)

# The durable-rules engine against the closure engine: records/s and RSS every 100 k records over 1 M (flat).
bench-durable: $(STAMP)
	$(BIN)/python bench/bench_durable.py $(BENCH_ARGS)

# Aggregate groups: records/s and peak RSS with 1 M distinct depositors (groups), spilling and not; bytes a group.
bench-groups: $(STAMP)
	$(BIN)/python bench/bench_groups.py $(BENCH_ARGS)

# Scale-out: records/s and peak RSS for --jobs 1, --jobs 2 and Spark local[2] over 1 M records (not in `make test`).
bench-scale: $(STAMP) java
	$(BIN)/python bench/bench_scale.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache

# The rooms of the package and the imports between them, as Mermaid (docs/architecture.md holds the drawing).
import-graph: $(STAMP)
	$(BIN)/python scripts/import_graph.py

# The record model's shape as plain data (records/record_shape.py), read where pydantic is not imported.
record-shape: $(STAMP)
	$(BIN)/python -m svcpolicy.records.shape > src/svcpolicy/records/record_shape.py.new
	mv src/svcpolicy/records/record_shape.py.new src/svcpolicy/records/record_shape.py
	$(BIN)/ruff format src/svcpolicy/records/record_shape.py
