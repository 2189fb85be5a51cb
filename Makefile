# HyperFusion Studio: two commands.
#   make run   start the app on http://127.0.0.1:$(PORT) (default 8501)
#   make test  lint, format check and every test (slow and browser included)
# Both create .venv when it is missing and install only when a requirements file
# changed (stamp files in .venv), so a second run installs nothing.

SHELL := /bin/bash
.DEFAULT_GOAL := run

PORT ?= 8501
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

RUN_HASH := $(shell cat requirements.txt | sha256sum | cut -c1-16)
TEST_HASH := $(shell cat requirements.txt requirements-test.txt | sha256sum | cut -c1-16)
RUN_STAMP := $(VENV)/.installed-$(RUN_HASH)
TEST_STAMP := $(VENV)/.installed-test-$(TEST_HASH)

.PHONY: run test _chromium

run: $(RUN_STAMP)
	$(BIN)/streamlit run app.py --server.address 127.0.0.1 --server.port $(PORT) \
		--server.headless true --browser.gatherUsageStats false

test: $(TEST_STAMP) _chromium
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Stamps are named by the hash of the requirements, so an edit makes a new one;
# a new stamp replaces every old one.
$(RUN_STAMP): | $(BIN)/python
	rm -f $(VENV)/.installed-*
	$(BIN)/python -m pip install -r requirements.txt
	touch $@

# One pip call for both files, so that the resolver sees requirements.txt's
# torch pin while it resolves the test tools.
$(TEST_STAMP): | $(BIN)/python
	rm -f $(VENV)/.installed-*
	$(BIN)/python -m pip install -r requirements.txt -r requirements-test.txt
	touch $(RUN_STAMP) $@

# Browser tests drive Debian's chromium through Playwright.
_chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		sudo=""; \
		if [ "$$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then sudo=sudo; fi; \
		echo "Installing Debian's chromium for the browser tests"; \
		$$sudo apt-get update && \
		$$sudo env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y --no-install-recommends chromium; \
	fi
