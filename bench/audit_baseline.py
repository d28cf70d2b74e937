"""The baseline of bench/dependency_audit.py: a monorepo audited as pip-audit audits it with its cache - each project's
requirements.txt or package-lock.json read on its own, the advisory export loaded once, each package looked up on its
own. Prints the findings as JSON: [name, version, advisory ids, whether the
advisories could not tell] of each.

    python bench/audit_baseline.py MONOREPO EXPORT.zip
"""

import json
import os
import re
import sys

from ansible_collections.upkeep.maintenance.plugins.module_utils import _osv


def packages_of(project):
    """(ecosystem, name, version) of a project's pinned requirements or its package-lock.json."""
    requirements = os.path.join(project, "requirements.txt")
    if os.path.exists(requirements):
        with open(requirements) as stream:
            for line in stream:
                match = re.match(r"^([A-Za-z0-9._-]+)==([^\s;]+)", line)
                if match:
                    yield "PyPI", _osv.normalize_name("PyPI", match.group(1)), match.group(2)
        return
    with open(os.path.join(project, "package-lock.json")) as stream:
        for path, entry in json.load(stream)["packages"].items():
            if path:
                yield "npm", path.rsplit("node_modules/", 1)[1], entry["version"]


def main(monorepo, export):
    database = _osv.Database.load([export])
    found = []
    for project in sorted(os.listdir(monorepo)):
        for ecosystem, name, version in packages_of(os.path.join(monorepo, project)):
            for group in _osv.merge_by_alias(database.matches(ecosystem, name, version)):
                vulnerability = _osv.finding(group, ecosystem, version)
                found.append([name, version, vulnerability["ids"], vulnerability["unsure"]])
    print(json.dumps(found))


if __name__ == "__main__":
    main(*sys.argv[1:])
