# The two commands of the README: `make demo` (the main job) and `make test` (the checks CI runs).
UV := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV := python3 -m uv
endif

.PHONY: demo test lint typecheck pytest uv sync

uv:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv

sync: uv
	$(UV) sync --locked --quiet

demo: sync
	$(UV) run ops-evidence demo

lint: sync
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run lint-imports --no-logo

typecheck: sync
	$(UV) run mypy

pytest: sync
	$(UV) run pytest

test: lint typecheck pytest
