# Two commands do everything on a fresh machine with Python 3.11+:
#   make run   set up, run the desk over the bundled demo sources, serve it on 127.0.0.1:8000
#   make test  set up, then ruff, import-linter and the whole pytest suite
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	&& { echo $$p; break; }; done)

.PHONY: run test install browser reader-apps lint clean

$(STAMP): pyproject.toml constraints.txt
	@test -n "$(PYTHON)" || { echo "error: newsdesk needs Python 3.11 or newer on PATH"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/newsdesk db upgrade
	$(BIN)/newsdesk up --demo

# Browser tests drive Debian's Chromium; install it when missing and we may (root), with a
# CJK font so the screenshots show Chinese titles rather than empty boxes.
browser:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi
	@if [ ! -d /usr/share/fonts/opentype/noto ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing a CJK font for the browser screenshots"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk >/dev/null || true; \
	fi

# The reader-app test drives newsboat (its FeedHQ backend against the desk's Google Reader API);
# install Debian's package when missing and we may, as for the browser.
reader-apps:
	@if ! command -v newsboat >/dev/null && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's newsboat for the reader-app test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq newsboat >/dev/null || true; \
	fi

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports

# One pytest-xdist worker more than there are cores (a module marked xdist_group stays on one
# worker): many tests wait on a subprocess, a server or PostgreSQL for part of their time, and
# with a worker per core the cores sat idle then (a fresh clone's `.ci/run` on 2 cores: pytest
# 1,232-1,315 s with 2 workers, 1,063 s with 3 together with this round's CPU cuts, under other
# load). Then the 15 slowest steps, so a test that grows slow is seen.
TEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))
test: install browser reader-apps lint
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup --durations=15

clean:
	rm -rf $(VENV) data test-artifacts .pytest_cache .ruff_cache
