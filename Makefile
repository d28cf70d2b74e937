# Entry points: `make demo` and `make test` (README). Both work from a fresh clone on Debian 12 as root.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
COLLECTIONS := .build/collections
LINK := $(COLLECTIONS)/ansible_collections/upkeep/maintenance
SANITY_TREE := .build/sanity/ansible_collections/upkeep/maintenance
VERSION := $(shell sed -n 's/^version: *//p' galaxy.yml)
TARBALL := .build/dist/upkeep-maintenance-$(VERSION).tar.gz
IMAGES := bookworm trixie
# Interpreters of the install test: the oldest ansible-core on Debian 12's Python, the newest on Python 3.13, and the
# oldest managed-host Python the modules support. Found on PATH or in pyenv.
find_python = $(firstword $(foreach candidate,$(shell command -v python$(1) 2>/dev/null) $(wildcard $(HOME)/.pyenv/versions/$(1).*/bin/python$(1)),$(if $(shell $(candidate) -c 'print(1)' 2>/dev/null),$(candidate))))
PYTHON313 ?= $(call find_python,3.13)
PYTHON39 ?= $(call find_python,3.9)
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/$(COLLECTIONS)
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: help demo test venv collection tarball images lint sanity postgresql pytest molecule install-test importer \
        bench readmes clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | awk -F'\t' '{printf "  make %-14s %s\n", $$1, $$2}'

$(BIN)/ansible-playbook: requirements/test.txt
	@command -v $(PYTHON) >/dev/null || { apt-get update -qq && apt-get install -y -qq python3 python3-venv; }
	@$(PYTHON) -m venv --help >/dev/null 2>&1 && $(PYTHON) -c 'import ensurepip' 2>/dev/null \
	  || { apt-get update -qq && apt-get install -y -qq python3-venv; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements/test.txt
	touch $@

venv: $(BIN)/ansible-playbook ## Create the test virtualenv (.venv) from requirements/test.txt

# The collection is used from the working tree through a link in a collections path.
collection:
	@mkdir -p $(dir $(LINK))
	@ln -sfn $(CURDIR) $(LINK)

demo: venv collection ## Lay out a demo estate in .demo/ and run the weekly maintenance on it, then print its report
	rm -rf .demo
	$(BIN)/python tests/support/estate.py demo .demo
	$(BIN)/python tests/support/certs.py .demo/certs
	$(BIN)/ansible-playbook upkeep.maintenance.weekly -i inventories/demo
	@echo; cat "$$(ls -t .demo/reports/weekly-*.md | head -n 1)"

images: ## Build the Debian test images (cached by the hash of what builds them)
	bash tests/images/ensure-docker.sh
	bash tests/images/build.sh $(IMAGES)

lint: venv collection ## ansible-lint (production profile), the changelog, the generated docs
	$(BIN)/ansible-lint
	$(BIN)/antsibull-changelog lint
	$(BIN)/python tools/role_readmes.py --check
	$(BIN)/python tools/results_table.py --check
	$(BIN)/python tools/version_names.py --check

readmes: venv ## Rewrite the generated parts of the docs: the role READMEs, the table of checks of docs/results.md, the tarball's name from galaxy.yml's version
	$(BIN)/python tools/role_readmes.py
	$(BIN)/python tools/version_names.py
	$(BIN)/python tools/results_table.py

# ansible-test wants the collection at a real ansible_collections/NAMESPACE/NAME path: a copy of the tracked files,
# without the test fixtures, which are other projects' files kept as they were written (lock files, advisories).
# It finds its cache through HOME, which points inside the build folder so that the offline stand-in for its pip
# bootstrap never replaces the real one of the user running it.
sanity: venv ## ansible-test sanity, every test, offline
	rm -rf $(SANITY_TREE) && mkdir -p $(SANITY_TREE)
	git ls-files -z --cached --others --exclude-standard -- . ':!tests/fixtures' | tar --null -T - -cf - | tar -C $(SANITY_TREE) -xf -
	@command -v shellcheck >/dev/null || { apt-get update -qq && apt-get install -y -qq shellcheck >/dev/null; }
	HOME=$(CURDIR)/.build/sanity-home bash tests/sanity/offline-get-pip.sh
	cd $(SANITY_TREE) && git init -q && git add -A && \
	  HOME=$(CURDIR)/.build/sanity-home $(CURDIR)/$(BIN)/ansible-test sanity \
	    --python $$($(CURDIR)/$(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])') --requirements --color no

# The PostgreSQL tests start their own servers (tests/support/pgserver.py) from the distribution's binaries; the package
# is installed without a cluster of its own.
# The tests also run the servers in German (lc_messages), which needs that locale; pg_repack rewrites tables online.
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  mkdir -p /etc/postgresql-common && echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.conf; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }
	@major=$$(ls /usr/lib/postgresql | sort -n | tail -n 1); ls /usr/lib/postgresql/$$major/bin/pg_repack >/dev/null 2>&1 || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-$$major-repack >/dev/null; }
	@locale -a 2>/dev/null | grep -qix 'de_DE.utf8' || { \
	  command -v locale-gen >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq locales >/dev/null; }; \
	  sed -i 's/^# *de_DE.UTF-8 UTF-8/de_DE.UTF-8 UTF-8/' /etc/locale.gen; \
	  grep -q '^de_DE.UTF-8 UTF-8' /etc/locale.gen || echo 'de_DE.UTF-8 UTF-8' >>/etc/locale.gen; \
	  locale-gen >/dev/null; }

# promtool tests the shipped alert rules and node_exporter serves the metrics files: Debian's binaries, unpacked
# without installing the packages (which would start their services).
.build/prometheus/.done:
	mkdir -p $(dir $@)debs
	cd $(dir $@)debs && { apt-get download -qq prometheus prometheus-node-exporter 2>/dev/null \
	  || { apt-get update -qq && apt-get download -qq prometheus prometheus-node-exporter; }; }
	for deb in $(dir $@)debs/*.deb; do dpkg-deb -x $$deb $(dir $@); done
	rm -rf $(dir $@)debs
	touch $@

# What the Makefile provides (Docker, Compose, the German locale, promtool) must be there: a test that finds it missing
# fails instead of skipping (tests/support/prerequisites.py).
# npm's semver package, the oracle the audit's npm ranges are checked against (tests/modules/test_range_oracles.py).
.build/node/node_modules/semver/package.json:
	@command -v npm >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; }
	npm install --prefix .build/node --no-audit --no-fund --no-save --silent semver@7.6.3

# The modules that tests/modules runs directly run on the oldest managed-host Python; those run through a playbook
# use the controller's, and the Molecule scenarios cover Debian 12's and 13's.
pytest: venv collection postgresql images .build/prometheus/.done .build/node/node_modules/semver/package.json .build/modules-py39/.done ## Unit and module tests (real SQLite, PostgreSQL, TLS, HTTP servers, Docker); modules on Python 3.9
	UPKEEP_PREREQUISITES=required UPKEEP_MODULE_PYTHON=$(CURDIR)/.build/modules-py39/bin/python \
	  $(BIN)/pytest tests/unit tests/modules

# The execution environment of the ssh scenario: ansible-core and ansible-runner for Debian 13's Python, as an EE
# image has them, installed into a folder that the scenario mounts into a Debian 13 container (tests/images has no
# registry to build an image from).
.build/ee/.done: requirements/core-2.21.txt
	rm -rf $(dir $@)
	$(or $(PYTHON313),$(error no Python 3.13 for the execution environment: set PYTHON313)) -m pip install -q \
	  --target $(dir $@)site --only-binary=:all: -r $<
	touch $@

# Each image is named by a hash of what builds it; UPKEEP_IMAGE_<SUITE> picks another image (from a registry, say).
molecule: venv collection images tarball .build/ee/.done ## Molecule scenarios in Debian 12 and 13 containers
	export UPKEEP_IMAGE_BOOKWORM=$${UPKEEP_IMAGE_BOOKWORM:-$$(bash tests/images/build.sh bookworm)}; \
	export UPKEEP_IMAGE_TRIXIE=$${UPKEEP_IMAGE_TRIXIE:-$$(bash tests/images/build.sh trixie)}; \
	for scenario in $$(cd molecule && ls */molecule.yml | cut -d/ -f1); do $(BIN)/molecule test -s $$scenario; done

tarball: venv ## Build the collection tarball as users get it (.build/dist)
	mkdir -p $(dir $(TARBALL))
	$(BIN)/ansible-galaxy collection build --force --output-path $(dir $(TARBALL)) .

# A virtualenv per requirements file, rebuilt when the file changes; ansible-core 2.21 needs Python 3.12 or newer.
.build/core-%/.done: requirements/core-%.txt
	rm -rf $(dir $@)
	$(if $(filter 2.21,$*),$(or $(PYTHON313),$(error no Python 3.13 for ansible-core 2.21: set PYTHON313)),$(PYTHON)) -m venv $(dir $@)
	$(dir $@)bin/pip install -q -r $<
	touch $@

.build/modules-py39/.done: requirements/modules-py39.txt
	rm -rf $(dir $@)
	$(or $(PYTHON39),$(error no Python 3.9 for the managed-host test: set PYTHON39)) -m venv $(dir $@)
	$(dir $@)bin/pip install -q -r $<
	touch $@

# The benchmarks run the modules on the managed host's Python: Debian's python3, with the libraries the modules
# import there (the oldest host's pins, which this Python takes too).
.build/modules-host/.done: requirements/modules-py39.txt
	rm -rf $(dir $@)
	/usr/bin/python3 -m venv --without-pip $(dir $@)
	$(BIN)/pip --python $(dir $@)bin/python install -q -r $<
	touch $@

.build/importer/.done: requirements/importer.txt
	rm -rf $(dir $@)
	$(PYTHON) -m venv $(dir $@)
	$(dir $@)bin/pip install -q -r $<
	touch $@

importer: tarball .build/importer/.done ## galaxy-importer on the tarball, offline, ansible-lint on
	bash tests/install/galaxy-importer.sh .build/importer $(TARBALL)

# The collection as users install it: the tarball into an empty collections path, with nothing but ansible-core,
# on the oldest and the newest ansible-core.
install-test: venv collection postgresql images .build/prometheus/.done tarball importer .build/core-2.16/.done .build/core-2.21/.done ## Install the tarball with plain ansible-core 2.16 and 2.21 and run it
	for core in .build/core-2.16 .build/core-2.21; do \
	  UPKEEP_CORE_VENV=$(CURDIR)/$$core UPKEEP_TARBALL=$(CURDIR)/$(TARBALL) $(BIN)/pytest -p no:cacheprovider tests/install; \
	done

# pytest last, so that its closing line ("N passed") ends the output. The images (and the Docker engine they need) come
# before every test that runs containers.
test: venv collection lint sanity images install-test molecule pytest ## Everything CI runs: lint, sanity, install test, Molecule, pytest

bench: venv collection postgresql images .build/modules-host/.done ## The benchmarks of bench/ against their baselines in one table, then the fleet's
	UPKEEP_MODULE_PYTHON=$(CURDIR)/.build/modules-host/bin/python $(BIN)/python bench/run.py
	$(BIN)/python bench/fleet.py

clean: ## Remove what the build, the demo and the tests leave (.venv, .build, .demo, caches, tarballs)
	rm -rf $(VENV) .build .demo tests/output .pytest_cache .ansible upkeep-maintenance-*.tar.gz
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
