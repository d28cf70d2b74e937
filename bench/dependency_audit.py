"""Benchmark (not a test): one dependency_audit of a whole monorepo against auditing it the way the runbooks do,
one project and one package at a time.

Lays out a monorepo of --projects projects (half Python with pinned requirements files, half npm with package-lock.json
version 3) holding about --packages locked packages in all: names of packages the PyPA database has advisories for,
at versions its advisories list (so that there is something to find), and names it does not know. The database is
the whole PyPA database and the npm advisories of the fixtures, exported as osv.dev exports databases: one flat zip
of JSON advisories (made before timing). Then prints, in one run:
  - the time to load that database once;
  - dependency_inventory then dependency_audit, as Ansible runs them (Python processes reading JSON arguments);
  - the baseline, pip-audit style: each project audited on its own, each package looked up on its own in the
    export, with nothing kept between packages - measured on --sample packages and scaled to all of them (the whole
    baseline would take hours);
  - the same packages with both, to show the findings agree.
Target: the audit at least 20 times faster than the baseline.

Usage: python bench/dependency_audit.py [--projects 20] [--packages 3000] [--sample 40] [--pypi PATH_TO_PYPA_VULNS]
The PyPA database is read from ../shared/advisories/pypi beside this repository, or UPKEEP_ADVISORIES/pypi.
"""

import argparse
import glob
import json
import os
import random
import shutil
import sys
import tempfile
import time
import zipfile

import yaml

from harness import ROOT, collections_path, run_module

sys.path.insert(0, collections_path(tempfile.mkdtemp(prefix="upkeep-bench-collections-")))

from ansible_collections.upkeep.maintenance.plugins.module_utils import _osv  # noqa: E402  (found through the path above)

SHARED = os.environ.get("UPKEEP_ADVISORIES") or os.path.join(ROOT, "..", "shared", "advisories")


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


def package_list(trees):
    seen, packages = set(), []
    for tree in trees:
        for package in tree["packages"]:
            key = (package["ecosystem"], package["name"], package["version"], package["source"])
            if key not in seen:
                seen.add(key)
                packages.append(package)
    return packages


def one_at_a_time(packages, export_path):
    """Each package looked up on its own in the export: every advisory read, the package's matched."""
    found = 0
    for package in packages:
        database = _osv.Database()
        with zipfile.ZipFile(export_path) as archive:
            for member in archive.namelist():
                advisory = json.loads(archive.read(member))
                if any(_osv.normalize_name(package["ecosystem"], (affected.get("package") or {}).get("name", "")) == package["name"]
                       for affected in advisory.get("affected") or []):
                    database.add(advisory, member)
        found += len(_osv.merge_by_alias(database.matches(package["ecosystem"], package["name"], package["version"])))
    return found


def indexed(packages, export_path):
    database = _osv.Database.load([export_path])
    return sum(len(_osv.merge_by_alias(database.matches(package["ecosystem"], package["name"], package["version"])))
               for package in packages)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--projects", type=int, default=20)
    parser.add_argument("--packages", type=int, default=3000)
    parser.add_argument("--sample", type=int, default=40)
    parser.add_argument("--pypi", default=os.path.join(SHARED, "pypi"))
    args = parser.parse_args()
    npm = os.path.join(ROOT, "tests", "fixtures", "advisories", "npm")
    if not os.path.isdir(args.pypi):
        raise SystemExit("the PyPA database is not at %s (set UPKEEP_ADVISORIES or --pypi)" % args.pypi)
    work = tempfile.mkdtemp(prefix="upkeep-bench-deps-")
    try:
        collections = collections_path(work)
        monorepo = os.path.join(work, "monorepo")
        locked = lay_out(monorepo, args.pypi, args.projects, args.packages, random.Random(7))
        export_path = os.path.join(work, "all.zip")
        export([args.pypi, npm], export_path)
        print("monorepo: %d projects, %d locked packages; database: %s and the npm fixtures, as one zip export" % (
            args.projects, locked, args.pypi))

        started = time.monotonic()
        database = _osv.Database.load([export_path])
        load = time.monotonic() - started
        print("load the whole database once                 %7.2f s  %d advisories" % (load, database.loaded))

        inventory_seconds, inventory = run_module(collections, "dependency_inventory", roots=[monorepo])
        audit_seconds, audit = run_module(collections, "dependency_audit", inventories=dict(bench=inventory["trees"]),
                                          database=[export_path], audit_level="low")
        ours = inventory_seconds + audit_seconds
        found = len(audit["hosts"]["bench"]["vulnerabilities"])
        print("dependency_inventory + dependency_audit       %7.2f s  (%.2f + %.2f), %d vulnerabilities" % (
            ours, inventory_seconds, audit_seconds, found))

        packages = package_list(inventory["trees"])
        sample = random.Random(11).sample(packages, min(args.sample, len(packages)))
        started = time.monotonic()
        sampled = one_at_a_time(sample, export_path)
        seconds = (time.monotonic() - started) * len(packages) / len(sample)
        print("one package at a time, scaled from %3d        %7.2f s  for all %d packages" % (len(sample), seconds, len(packages)))
        agree = indexed(sample, export_path) == sampled
        print("findings on the sample: %d both ways%s" % (sampled, "" if agree else "; THEY DIFFER"))
        print("ratio: the audit is %.0fx faster (target >= 20x)" % (seconds / ours))
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
