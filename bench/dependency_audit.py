"""Benchmark (not a test): dependency_inventory and one dependency_audit of a whole monorepo against auditing it the
way pip-audit does with its cache, one project and one package at a time, the database loaded once.

Lays out a monorepo of --projects projects (half Python with pinned requirements files, half npm with package-lock.json
version 3) holding about --packages locked packages in all: names of packages the PyPA database has advisories for,
at versions its advisories list (so that there is something to find), and names it does not know. The database is
the whole PyPA database and the npm advisories of the fixtures, exported as osv.dev exports databases: one flat zip
of JSON advisories (made before timing). The baseline (bench/audit_baseline.py) reads each project's requirements.txt or package-lock.json, loads the export
once and looks each package up on its own; both sides must find the same vulnerabilities. pip-audit and osv-scanner
themselves cannot run here: pip-audit asks PyPI's or osv.dev's service, which this machine does not reach, and
osv-scanner is a binary downloaded from GitHub, not a package of a registry.

Usage: python bench/dependency_audit.py [--projects 20] [--packages 3000] [--pypi PATH_TO_PYPA_VULNS]
The PyPA database is read from ../shared/advisories/pypi beside this repository, or UPKEEP_ADVISORIES/pypi, else the
tests' own copy of some of it.
"""

import glob
import json
import os
import random
import shutil
import sys
import tempfile
import zipfile

import yaml

from harness import ROOT, collections_path, compare, main, run, run_module, scratch

sys.path.insert(0, collections_path(tempfile.mkdtemp(prefix="upkeep-bench-collections-")))

from ansible_collections.upkeep.maintenance.plugins.module_utils import _osv  # noqa: E402  (found through the path above)

SHARED = os.environ.get("UPKEEP_ADVISORIES") or os.path.join(ROOT, "..", "shared", "advisories")
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "advisories")


def lay_out(folder, pypi, projects, packages, rng):
    """A monorepo; returns the number of locked packages."""
    known = sorted(os.listdir(pypi))
    versions = {}
    for name in known:
        for path in glob.glob(os.path.join(pypi, name, "*.yaml"))[:3]:
            with open(path) as handle:
                listed = [entry.get("versions") or [] for entry in (yaml.safe_load(handle) or {}).get("affected") or []]
            versions.setdefault(name, []).extend(version for group in listed for version in group)
    per_project = packages // projects
    total = 0
    for number in range(projects):
        project = os.path.join(folder, "project-%02d" % number)
        os.makedirs(project)
        chosen = rng.sample(known, min(per_project, len(known)))
        if number % 2 == 0:
            lines = []
            for name in chosen:
                version = rng.choice(versions.get(name) or ["0.1.0"])
                lines.append("%s==%s" % (name, version))
            with open(os.path.join(project, "requirements.txt"), "w") as handle:
                handle.write("\n".join(lines) + "\n")
            total += len(lines)
        else:
            entries = {"": dict(name="project-%02d" % number, version="1.0.0")}
            for index in range(per_project):
                name = rng.choice(["lodash", "minimist", "qs", "semver", "express", "node-fetch", "axios"]) if index < 10 \
                    else "package-%d" % index
                entries["node_modules/%s" % name] = dict(version=rng.choice(["1.2.5", "4.17.20", "6.10.1", "7.5.1", "2.6.6"]))
            with open(os.path.join(project, "package-lock.json"), "w") as handle:
                json.dump(dict(name="project-%02d" % number, lockfileVersion=3, packages=entries), handle)
            total += len(entries) - 1
    return total


def export(folders, path):
    """The advisories of the folders as one flat zip of JSON files, as osv.dev's all.zip is."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in _osv.advisory_files(folders):
            advisory = _osv._parse(name, data)
            archive.writestr("%s.json" % advisory["id"], json.dumps(advisory))


def findings(audit):
    """The vulnerabilities of an audit and those it could not evaluate, told apart."""
    return sorted([(item["package"], item["version"], tuple(item["ids"]), False) for item in audit["vulnerabilities"]]
                  + [(item["package"], item["version"], tuple(item["ids"]), True) for item in audit["unevaluated"]])


def rows(projects=20, packages=3000, pypi=None):
    pypi = pypi or next(folder for folder in (os.path.join(SHARED, "pypi"), os.path.join(FIXTURES, "pypi"))
                        if os.path.isdir(folder))
    work = scratch()
    try:
        collections = collections_path(work)
        monorepo = os.path.join(work, "monorepo")
        lay_out(monorepo, pypi, projects, packages, random.Random(7))
        export_path = os.path.join(work, "all.zip")
        export([pypi, os.path.join(FIXTURES, "npm")], export_path)

        def module(_subject):
            trees = run_module(collections, "dependency_inventory", roots=[monorepo])["trees"]
            return findings(run_module(collections, "dependency_audit", inventories=dict(bench=trees),
                                       database=[export_path], audit_level="low")["hosts"]["bench"])

        def baseline(_subject):
            found = json.loads(run([sys.executable, os.path.join(ROOT, "bench", "audit_baseline.py"), monorepo, export_path],
                                   capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=collections)).stdout)
            return sorted((name, version, tuple(ids), unsure) for name, version, ids, unsure in found)

        return [compare("dependency audit, %d projects, %d packages" % (projects, packages),
                        ("per package, the database loaded once", baseline), ("dependency_inventory and _audit", module))]
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main(__doc__, rows)
