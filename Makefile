# Entry points: `make demo` and `make test` (README). Both work from a fresh clone on Debian 12 as root.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
COLLECTIONS := .build/collections
LINK := $(COLLECTIONS)/ansible_collections/upkeep/maintenance
SANITY_TREE := .build/sanity/ansible_collections/upkeep/maintenance
IMAGES := bookworm trixie
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/$(COLLECTIONS)
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: demo test venv collection images postgresql lint sanity pytest molecule bench clean

$(BIN)/ansible-playbook: requirements/test.txt
	@command -v $(PYTHON) >/dev/null || { apt-get update -qq && apt-get install -y -qq python3 python3-venv; }
	@$(PYTHON) -m venv --help >/dev/null 2>&1 && $(PYTHON) -c 'import ensurepip' 2>/dev/null \
	  || { apt-get update -qq && apt-get install -y -qq python3-venv; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements/test.txt
	touch $@

venv: $(BIN)/ansible-playbook

# The collection is used from the working tree through a link in a collections path.
collection:
	@mkdir -p $(dir $(LINK))
	@ln -sfn $(CURDIR) $(LINK)

demo: venv collection
	rm -rf .demo
	$(BIN)/python tests/estate.py demo .demo
	$(BIN)/python tests/certs.py .demo/certs
	$(BIN)/ansible-playbook upkeep.maintenance.weekly -i inventories/demo
	@cat "$$(ls -t .demo/reports/weekly-*.md | head -n 1)"

images:
	bash tests/images/ensure-docker.sh
	bash tests/images/build.sh $(IMAGES)

lint: venv collection
	$(BIN)/ansible-lint
	$(BIN)/antsibull-changelog lint

# ansible-test wants the collection at a real ansible_collections/NAMESPACE/NAME path: a copy of the tracked files.
sanity: venv
	rm -rf $(SANITY_TREE) && mkdir -p $(SANITY_TREE)
	git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -C $(SANITY_TREE) -xf -
	@command -v shellcheck >/dev/null || { apt-get update -qq && apt-get install -y -qq shellcheck >/dev/null; }
	bash tests/sanity/offline-get-pip.sh
	cd $(SANITY_TREE) && git init -q && git add -A && \
	  $(CURDIR)/$(BIN)/ansible-test sanity --python $$($(CURDIR)/$(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])') --requirements --color no

# The PostgreSQL tests start their own servers (tests/pgserver.py) from the distribution's binaries; the package
# is installed without a cluster of its own.
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  mkdir -p /etc/postgresql-common && echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.conf; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

pytest: venv collection postgresql
	$(BIN)/pytest tests/unit tests/integration

# Each image is named by a hash of what builds it; UPKEEP_IMAGE_<SUITE> picks another image (from a registry, say).
molecule: venv collection images
	export UPKEEP_IMAGE_BOOKWORM=$${UPKEEP_IMAGE_BOOKWORM:-$$(bash tests/images/build.sh bookworm)}; \
	export UPKEEP_IMAGE_TRIXIE=$${UPKEEP_IMAGE_TRIXIE:-$$(bash tests/images/build.sh trixie)}; \
	for scenario in $$(cd molecule && ls */molecule.yml | cut -d/ -f1); do $(BIN)/molecule test -s $$scenario; done

# pytest last, so that its closing line ("N passed") ends the output.
test: venv collection lint sanity molecule pytest

bench: venv collection postgresql images
	$(BIN)/python bench/sqlite_vacuum.py
	$(BIN)/python bench/pg_vacuum.py
	$(BIN)/python bench/cert_expiry.py
	$(BIN)/python bench/prune.py
	$(BIN)/python bench/backup_verify.py
	$(BIN)/python bench/fleet.py

clean:
	rm -rf .build .demo tests/output
