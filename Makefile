# Two commands for a newcomer: `make run` (demo on SQLite + filesystem broker) and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
export DJANGO_SETTINGS_MODULE ?= config.settings.local

.PHONY: install run test lint schema check-compose bench clean

$(BIN)/.installed: requirements/base.txt requirements/production.txt requirements/dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements/dev.txt
	touch $@

install: $(BIN)/.installed

run: install
	mkdir -p var
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	PATH="$(abspath $(BIN)):$$PATH" PORT=$(PORT) $(BIN)/honcho --procfile Procfile.dev start

test: install
	DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

schema: install
	DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/python manage.py spectacular --validate --fail-on-warn --file var/openapi.yaml

# Load benchmark of the production stack on loopback (needs PostgreSQL, Redis and wrk); see README.
bench: install
	$(BIN)/python bench/run.py $(BENCH_ARGS)

check-compose: install
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec docker/compose.yml

clean:
	rm -rf var .pytest_cache .ruff_cache
