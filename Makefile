# No Mysticism: two commands on a fresh Linux machine with Python 3.11.
#   make lab    create .venv, install the toolkit + JupyterLab, open notebooks/00_tour.ipynb
#   make test   install the same way (plus test extras) and run the whole suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
# Torch: the exact pair this project is tested with. Override for another build, e.g.
#   make lab TORCH_SPEC="torch==2.14.1 torchvision==0.29.1 --index-url https://download.pytorch.org/whl/cpu"
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
PORT   ?= 8888
PYTEST_ARGS ?=

.PHONY: lab test venv install install-test book assignments bench lint clean

$(VENV)/.stamp-base:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip "setuptools>=77.0.3,<81" wheel
	$(PIP) install -q $(TORCH_SPEC)
	@touch $@

$(VENV)/.stamp-lab: $(VENV)/.stamp-base pyproject.toml
	$(PIP) install -q -e ".[lab]"
	@touch $@

$(VENV)/.stamp-test: $(VENV)/.stamp-base pyproject.toml
	$(PIP) install -q -e ".[lab,dev,legacy,book]"
	@touch $(VENV)/.stamp-lab $@

venv install: $(VENV)/.stamp-lab
install-test: $(VENV)/.stamp-test

lab: $(VENV)/.stamp-lab
	$(VENV)/bin/jupyter lab --port $(PORT) --ServerApp.ip=127.0.0.1 --ServerApp.default_url=/lab/tree/notebooks/00_tour.ipynb $(if $(filter 0,$(shell id -u)),--allow-root,) notebooks/00_tour.ipynb

test: $(VENV)/.stamp-test
	$(PY) -m pytest $(PYTEST_ARGS)

book: $(VENV)/.stamp-test
	$(PY) course/build.py

assignments: $(VENV)/.stamp-test
	cd course/exercises && PATH="$(abspath $(VENV))/bin:$$PATH" $(abspath $(PY)) -m nbgrader generate_assignment '*' --force

bench: $(VENV)/.stamp-test
	for f in bench/*.py; do $(PY) $$f || exit 1; done

lint: $(VENV)/.stamp-test
	$(VENV)/bin/ruff check toolkit tests bench scripts

clean:
	rm -rf $(VENV) course/_build .pytest_cache
