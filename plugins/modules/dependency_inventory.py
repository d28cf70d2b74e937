#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: dependency_inventory
short_description: Every Python and Node package a host's projects lock and install, read exactly from their files
version_added: 0.1.0
description:
  - Finds the projects under O(roots) (a monorepo holds many) and reads what they depend on, exactly, from their own
    files - no package manager is run and nothing is fetched. Python - C(requirements*.txt) (pinned C(==) versions,
    C(-r) includes, pip-compile's C(# via) comments for direct or transitive), C(poetry.lock), C(uv.lock),
    C(Pipfile.lock), and installed environments (virtualenvs with C(pyvenv.cfg), site-packages) by their
    distribution metadata. Node - C(package-lock.json) and C(npm-shrinkwrap.json) (lockfile versions 1 to 3),
    C(yarn.lock) (yarn 1 and yarn 2 and later), C(pnpm-lock.yaml) (versions 5 to 9), and installed C(node_modules).
  - Each package with its ecosystem, its name as the ecosystem compares names (PEP 503 for PyPI), its version,
    whether it is a direct dependency (from C(pyproject.toml), C(Pipfile) or C(package.json); null where nothing
    says), the file it came from, and for installed packages their license.
  - Requirements that pin no version are reported as unpinned, never guessed.
  - A lock file that does not read is a V(failed) entry, one of a version this does not know a V(warning), a folder
    that cannot be read a V(warning); the other files and trees are read all the same.
  - Runs with the standard library only. C(upkeep.maintenance.dependency_audit) matches the result against security
    advisories, licenses and the package indexes, on the controller.
author:
  - upkeep.maintenance contributors (@upkeep)
extends_documentation_fragment:
  - upkeep.maintenance.attributes
  - upkeep.maintenance.attributes.INFO_MODULE
  - upkeep.maintenance.attributes.PLATFORM
options:
  roots:
    description:
      - Folders to look for projects under. Symbolic links to folders are not followed; named pipes, sockets and
        devices are never opened. A site-packages folder given as a root is read as an installed environment.
    type: list
    elements: path
    required: true
  ecosystems:
    description:
      - Which ecosystems to read.
    type: list
    elements: str
    choices: [python, node]
    default: [python, node]
  installed:
    description:
      - Read installed packages too (virtual environments, site-packages, node_modules), with their licenses.
    type: bool
    default: true
  max_depth:
    description:
      - How many folders deep under each root projects are looked for.
    type: int
    default: 8
  exclude:
    description:
      - Folder names never entered, besides version control folders, caches and the insides of environments.
    type: list
    elements: str
    default: []
seealso:
  - module: upkeep.maintenance.dependency_audit
"""

EXAMPLES = r"""
- name: What the monorepo's projects lock and install
  upkeep.maintenance.dependency_inventory:
    roots: [/srv/monorepo]
  register: inventory

- name: Match it against the advisories kept on the controller
  upkeep.maintenance.dependency_audit:
    inventories: "{{ {inventory_hostname: inventory.trees} }}"
    database: [/srv/advisories/pypi, /srv/advisories/npm-all.zip]
  delegate_to: localhost
"""

RETURN = r"""
trees:
  description: One per project folder and ecosystem - C(path), C(ecosystem) (V(PyPI) or V(npm)), C(files) read,
    C(packages) (each with C(ecosystem), C(name), C(version), C(direct), C(source), and C(license) when installed)
    and C(unpinned) requirements (C(name), C(specifier), C(source)).
  returned: always
  type: list
  elements: dict
  sample:
    - path: /srv/monorepo/services/api
      ecosystem: PyPI
      files: [/srv/monorepo/services/api/uv.lock]
      packages: [{"ecosystem": "PyPI", "name": "requests", "version": "2.28.1", "direct": true,
                  "source": "/srv/monorepo/services/api/uv.lock"}]
      unpinned: []
problems:
  description: Files and folders that could not be read, each with C(path), C(status) (V(failed) or V(warning))
    and C(message).
  returned: always
  type: list
  elements: dict
upkeep_results:
  description: A V(dependency_inventory) entry with the counts, and one entry per problem and per tree with
    unpinned requirements (V(dependency_unpinned), V(warning)).
  returned: always
  type: list
  elements: dict
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.upkeep.maintenance.plugins.module_utils._files import is_regular_file
from ansible_collections.upkeep.maintenance.plugins.module_utils._lockfiles import (
    NODE_LOCKS,
    PYTHON_LOCKS,
    READERS,
    REQUIREMENTS,
    SKIPPED_FOLDERS,
    LockfileError,
    environment_site_packages,
    node_modules,
    requirements_file,
    site_packages,
)
from ansible_collections.upkeep.maintenance.plugins.module_utils._results import result_entry
from ansible_collections.upkeep.maintenance.plugins.module_utils._units import plural
from ansible_collections.upkeep.maintenance.plugins.module_utils._versions import NPM, PYPI


class Inventory(object):
    def __init__(self, params):
        self.params = params
        self.trees = {}
        self.problems = []
        self.skipped = SKIPPED_FOLDERS | set(params["exclude"])

    def tree(self, path, ecosystem):
        return self.trees.setdefault((path, ecosystem), dict(path=path, ecosystem=ecosystem, files=[], packages=[], unpinned=[]))

    def read(self, folder, ecosystem, reader, path):
        """One file or installed folder into its project's tree; what does not read is a problem, not an end."""
        try:
            found = reader(path)
        except LockfileError as error:
            status = "warning" if "is not one of" in str(error) else "failed"
            self.problems.append(dict(path=path, status=status, message=str(error)))
            return
        except (OSError, ValueError) as error:
            self.problems.append(dict(path=path, status="failed", message=getattr(error, "strerror", None) or str(error)))
            return
        except RecursionError:
            self.problems.append(dict(path=path, status="failed", message="nested too deeply to read"))
            return
        except (TypeError, KeyError, AttributeError, IndexError) as error:
            # A file of the right name whose content has another shape than its format's: that file, not the run.
            self.problems.append(dict(path=path, status="failed", message="not shaped as its format is (%s: %s)" % (
                type(error).__name__, error)))
            return
        tree = self.tree(folder, ecosystem)
        tree["files"].append(path)
        tree["packages"] += found.packages
        tree["unpinned"] += found.unpinned

    @staticmethod
    def merge_installed(tree):
        """A locked package also found installed is one package, with the installed one's license; an installed
        package the lock files do not name (the install drifted from the lock) stays, since it is what runs."""
        if not tree:
            return
        installed = [package for package in tree["packages"] if package["source"].endswith("node_modules")]
        locked = [package for package in tree["packages"] if not package["source"].endswith("node_modules")]
        if not locked:
            return
        by_version = dict(((package["name"], package["version"]), package) for package in installed)
        for package in locked:
            match = by_version.pop((package["name"], package["version"]), None)
            if match is not None:
                package["license"] = match.get("license", "")
        tree["packages"] = locked + list(by_version.values())

    def folder(self, folder, files):
        names = set(name for name in files if is_regular_file(os.path.join(folder, name)))
        python, node = "python" in self.params["ecosystems"], "node" in self.params["ecosystems"]
        if python:
            for name in sorted(names):
                if REQUIREMENTS.match(name):
                    self.read(folder, PYPI, requirements_file, os.path.join(folder, name))
            for name in PYTHON_LOCKS:
                if name in names:
                    self.read(folder, PYPI, READERS[name], os.path.join(folder, name))
        if node:
            for name in NODE_LOCKS:
                if name in names:
                    self.read(folder, NPM, READERS[name], os.path.join(folder, name))
            installed = os.path.join(folder, "node_modules")
            if self.params["installed"] and "package.json" in names and os.path.isdir(installed) and not os.path.islink(installed):
                self.read(folder, NPM, node_modules, installed)
                self.merge_installed(self.trees.get((folder, NPM)))

    def walk(self, root):
        if os.path.basename(root.rstrip("/")) in ("site-packages", "dist-packages"):
            if "python" in self.params["ecosystems"] and self.params["installed"]:
                self.read(root, PYPI, site_packages, root)
            return
        if not os.path.isdir(root):
            self.problems.append(dict(path=root, status="failed", message="not a folder"))
            return
        base_depth = root.rstrip("/").count("/")

        def unreadable(error):
            self.problems.append(dict(path=error.filename, status="warning", message="cannot read the folder: %s" % (
                error.strerror or error)))

        for folder, folders, files in os.walk(root, onerror=unreadable):
            if "pyvenv.cfg" in files:
                if "python" in self.params["ecosystems"] and self.params["installed"]:
                    for packages in environment_site_packages(folder):
                        self.read(folder, PYPI, site_packages, packages)
                folders[:] = []
                continue
            self.folder(folder, files)
            depth = folder.rstrip("/").count("/") - base_depth
            folders[:] = sorted(name for name in folders if name not in self.skipped and depth < self.params["max_depth"]
                                and not os.path.islink(os.path.join(folder, name)))

    def entries(self):
        trees = sorted(self.trees.values(), key=lambda tree: (tree["path"], tree["ecosystem"]))
        packages = sum(len(tree["packages"]) for tree in trees)
        counts = dict((ecosystem, sum(len(tree["packages"]) for tree in trees if tree["ecosystem"] == ecosystem))
                      for ecosystem in (PYPI, NPM))
        summary = "%s, %s (%d PyPI, %d npm)%s" % (
            plural(len(trees), "project tree"), plural(packages, "package"), counts[PYPI], counts[NPM],
            "; %s" % plural(len(self.problems), "file", "files") + " not read" if self.problems else "")
        entries = [result_entry("dependency_inventory", ", ".join(self.params["roots"]), "ok", summary,
                                metrics=dict(trees=len(trees), packages=packages, problems=len(self.problems)))]
        entries += [result_entry("dependency_inventory", problem["path"], problem["status"], problem["message"])
                    for problem in self.problems]
        for tree in trees:
            if tree["unpinned"]:
                names = [item["name"] or item["specifier"] for item in tree["unpinned"]]
                entries.append(result_entry(
                    "dependency_unpinned", "%s (%s)" % (tree["path"], tree["ecosystem"]), "warning",
                    "%s pin no version, so no advisory can be matched to them: %s" % (
                        plural(len(names), "requirement"), ", ".join(names[:10]) + (" ..." if len(names) > 10 else "")),
                    metrics=dict(unpinned=len(names))))
        return trees, entries


def main():
    module = AnsibleModule(
        argument_spec=dict(
            roots=dict(type="list", elements="path", required=True),
            ecosystems=dict(type="list", elements="str", choices=["python", "node"], default=["python", "node"]),
            installed=dict(type="bool", default=True),
            max_depth=dict(type="int", default=8),
            exclude=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True)
    if module.params["max_depth"] < 0:
        module.fail_json(msg="max_depth must be 0 or more")
    inventory = Inventory(module.params)
    for root in module.params["roots"]:
        inventory.walk(root)
    trees, entries = inventory.entries()
    module.exit_json(changed=False, msg=entries[0]["summary"], trees=trees, problems=inventory.problems,
                     upkeep_results=entries)


if __name__ == "__main__":
    main()
