# The two commands of the README: `make run` and `make test`.
PYTHON := .venv/bin/python

.PHONY: help run test bench venv

help:
	@echo "make run    serve Throughline on http://127.0.0.1:8000 with the demo loaded,"
	@echo "            a Celery worker and beat alongside (Ctrl-C stops all)"
	@echo "make test   lint, migration check and the whole test suite (as CI runs it)"
	@echo "make bench  the web app under load, then imports and exports at scale, on"
	@echo "            PostgreSQL and Redis (figures written to docs/performance.md)"

# Creates .venv with the Python from .python-version and installs the pinned dependencies;
# does nothing when they are already installed.
venv:
	@bash scripts/venv

run: venv
	$(PYTHON) manage.py migrate --noinput
	$(PYTHON) manage.py load_demo
	bash scripts/run

test: venv
	$(PYTHON) scripts/test.py $(PYTEST_ARGS)

# The benchmarks behind docs/performance.md: the web app under load (BENCH_ARGS="--scale 0.5
# --duration 10", say), then imports and exports at scale (IMPORT_BENCH_ARGS).
bench: venv
	$(PYTHON) scripts/bench.py $(BENCH_ARGS)
	$(PYTHON) scripts/bench_import_scale.py --doc $(IMPORT_BENCH_ARGS)
