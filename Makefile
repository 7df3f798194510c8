# The studio's everyday commands. `make run` and `make test` need only python3 (3.11+).
VENV ?= .venv
PY := $(VENV)/bin/python
EXTRAS ?= test

.PHONY: run test test-browser install

$(VENV)/.installed-$(EXTRAS): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $@

install: $(VENV)/.installed-$(EXTRAS)

# The whole studio in one process: SQLite, in-process worker, local provider emulator, demo login.
run: install
	STUDIO_EMULATOR=true $(PY) manage.py runstudio 127.0.0.1:8000

# Unit and integration tests: SQLite and the in-process broker unless DATABASE_URL / BROKER_URL say otherwise.
test: install
	$(PY) -m pytest

# Browser tests: Playwright driving Debian's /usr/bin/chromium (apt-get install chromium).
test-browser:
	$(MAKE) install EXTRAS=test,browser
	$(PY) -m pytest -m browser
