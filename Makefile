# `make run` serves the demo on http://127.0.0.1:5000 with its background-job worker; `make test`
# lints and runs the tests; `make check` is the quick edit loop (SQLite only, no browser, no
# benchmark runs, no servers of the tests' own).
# Both run the tests in TEST_WORKERS processes (pytest-xdist), a module each at a time.
PYTHON ?= python3
TEST_WORKERS ?= 2
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test check lint format bench venv clean

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# The links and QR codes the demo prints point at the address it serves (unless set).
run: export PUBLIC_BASE_URL ?= http://$(HOST):$(PORT)
run: venv
	$(FLASK) db upgrade
	$(FLASK) demo-data
	@echo "正在启动：http://$(HOST):$(PORT)  （Ctrl+C 停止）"
	@# The background-job worker (a project's posters, big exports) runs beside the server
	@# and stops with it.
	$(FLASK) jobs worker & worker=$$!; \
	trap 'kill -TERM $$worker 2>/dev/null; wait $$worker' EXIT INT TERM HUP; \
	$(FLASK) run --host $(HOST) --port $(PORT)

# lint-imports: the packages' one-way order (pyproject.toml, docs/ARCHITECTURE.md).
lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo --no-cache

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

check: lint
	TEST_DATABASE_URL= $(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder -m "not browser and not bench and not services"

bench: venv
	$(BIN)/python bench/submit.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
