# The two commands of the README: `make run` and `make test`.
PYTHON := .venv/bin/python

.PHONY: help run test venv

help:
	@echo "make run    serve Throughline on http://127.0.0.1:8000 with the demo loaded,"
	@echo "            a Celery worker and beat alongside (Ctrl-C stops all)"
	@echo "make test   lint, migration check and the whole test suite (as CI runs it)"

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
