# Linli — the two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEV_LOGIN ?= 1
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test test-at install migrate demo bench clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

migrate: install
	mkdir -p instance
	DEV_LOGIN=$(DEV_LOGIN) $(BIN)/flask --app wsgi db upgrade

demo: migrate
	DEV_LOGIN=$(DEV_LOGIN) $(BIN)/flask --app wsgi demo load

# The embedded demo: SQLite under instance/, in-process store, DEV_LOGIN on.
run: demo
	DEV_LOGIN=$(DEV_LOGIN) $(BIN)/flask --app wsgi run --host $(HOST) --port $(PORT)

# The import contracts (.importlinter) first, then the suite: SQLite by default;
# TEST_DATABASE_URL / TEST_REDIS_URL switch to PostgreSQL / Redis.
test: install
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# The same suite with the machine's clock starting at DATE (UTC) and running on, through
# libfaketime (Debian package `faketime`), e.g. make test-at DATE="2028-02-29 10:00:00".
# On SQLite: a PostgreSQL server keeps its own clock. The monotonic clock stays real, or
# every wait with a timeout (threads, sockets) would wait for the years in between.
test-at: install
	@test -n "$(DATE)" || { echo 'usage: make test-at DATE="2028-02-29 10:00:00"  (UTC)' >&2; exit 2; }
	TZ=UTC FAKETIME_DONT_FAKE_MONOTONIC=1 faketime -f "@$(DATE)" $(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: install
	@for script in bench/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) instance/linli.db .pytest_cache
