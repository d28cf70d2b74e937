#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: dependency_audit
short_description: Known vulnerabilities, licenses and outdated versions of every host's packages, in one call
version_added: 0.1.0
description:
  - Takes what C(upkeep.maintenance.dependency_inventory) found on each host and checks it, once for the whole run,
    usually on the controller (C(delegate_to) localhost, C(run_once)), so that the advisory database is read once and
    the hosts need no access to it nor to the internet.
  - Vulnerabilities, matched as the OSV schema specifies - C(ECOSYSTEM) ranges compared by PEP 440 (PyPI) and
    Semantic Versioning (npm; a range's versions read as npm reads them, C(1.0) as C(1.0.0)), C(SEMVER) ranges by
    Semantic Versioning whatever the ecosystem, C(versions) lists, C(last_affected), several ranges per package; an
    advisory whose range, or the installed version, does not read is a V(warning) naming what could not be read,
    never a silent pass;
    withdrawn advisories are ignored, and advisories that are one vulnerability (PYSEC, GHSA and CVE ids that alias
    each other) are one finding. The advisories come from a local OSV database (O(database) - folders of OSV JSON or
    YAML files, such as the PyPA advisory database, or the C(all.zip) exports of osv.dev) or from the OSV API
    (O(api_url)), or both.
  - Each vulnerability is rated by its database (GitHub's rating), else by the CVSS v3 base score of its vector, else
    by its CVSS v4.0 one (with the C(cvss) Python package on the controller; without it such a finding is unrated and
    says which package to install), and reported when it reaches O(audit_level), as C(npm audit --audit-level) does - V(critical) and V(high) as
    V(critical) entries, V(moderate), V(low) and unrated ones as V(warning) - with its ids, the package, the installed
    version, the first version that fixes every advisory merged into the finding, and the lock file.
  - Licenses (O(allowed_licenses)) of the installed packages, against a list of SPDX identifiers; expressions with
    OR need one allowed choice, with AND all of them.
  - Outdated versions (O(outdated)) against PyPI and the npm registry, or mirrors of them - how many newer releases
    there are and for how many days the installed version has been behind. An index that cannot be reached is a
    V(warning) saying the check was skipped, never a failure.
author:
  - upkeep.maintenance contributors (@upkeep)
extends_documentation_fragment:
  - upkeep.maintenance.attributes
  - upkeep.maintenance.attributes.INFO_MODULE
  - upkeep.maintenance.attributes.PLATFORM
options:
  inventories:
    description:
      - For each host, the RV(upkeep.maintenance.dependency_inventory#module:trees) it returned.
    type: dict
    required: true
  database:
    description:
      - Local OSV databases, where this runs - folders of advisories (JSON, YAML; read recursively), OSV zip exports,
        or single advisory files. YAML needs PyYAML, which the controller has.
    type: list
    elements: path
    default: []
  api_url:
    description:
      - The OSV API (V(https://api.osv.dev)) or a mirror of it, asked with C(/v1/querybatch) and C(/v1/vulns/ID).
    type: str
  audit_level:
    description:
      - The lowest rating reported, as with C(npm audit --audit-level). Advisories without a rating count as
        V(moderate).
    type: str
    choices: [low, moderate, high, critical]
    default: moderate
  allowed_licenses:
    description:
      - SPDX identifiers of the licenses allowed (V(MIT), V(Apache-2.0), V(BSD-3-Clause)); installed packages under
        another license, or without one, are V(warning) entries. Empty to check no license.
    type: list
    elements: str
    default: []
  outdated:
    description:
      - Ask the package indexes for newer releases of each package.
    type: bool
    default: false
  outdated_days:
    description:
      - An installed version behind a newer release for longer than this many days is a V(warning).
    type: int
    default: 30
  pypi_url:
    description:
      - PyPI, or a mirror serving its JSON API (C(/pypi/NAME/json)).
    type: str
    default: https://pypi.org
  npm_registry_url:
    description:
      - The npm registry, or a mirror of it.
    type: str
    default: https://registry.npmjs.org
  timeout:
    description:
      - Seconds each request to the OSV API or a package index may take in all.
    type: float
    default: 15
  concurrency:
    description:
      - Requests to the package indexes at once.
    type: int
    default: 8
requirements:
  - PyYAML, for the YAML advisories of the PyPA database (ansible-core brings it).
  - cvss, for advisories rated by a CVSS v4.0 vector alone (optional).
seealso:
  - module: upkeep.maintenance.dependency_inventory
  - name: OSV schema
    description: How advisories name the versions they affect.
    link: https://ossf.github.io/osv-schema/
"""

EXAMPLES = r"""
- name: What each host's projects lock and install
  upkeep.maintenance.dependency_inventory:
    roots: [/srv/monorepo]
  register: inventory

- name: Audit every host at once, against the advisories kept on the controller
  upkeep.maintenance.dependency_audit:
    inventories: "{{ dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, ['inventory', 'trees']))) }}"
    database: [/srv/advisories/pypi, /srv/advisories/npm-all.zip]
    audit_level: moderate
    allowed_licenses: [MIT, Apache-2.0, BSD-2-Clause, BSD-3-Clause, ISC]
    outdated: true
  delegate_to: localhost
  run_once: true
  register: audit
"""

RETURN = r"""
hosts:
  description: For each host, its C(vulnerabilities), C(unevaluated) advisories (whose ranges, or the installed version,
    do not read - each names its C(problems), whatever the O(audit_level)), C(licenses) and C(outdated) findings and its
    C(upkeep_results) entries (V(dependency_vulnerability), a V(warning) for each unevaluated advisory,
    V(dependency_license), V(dependency_outdated), V(dependency_inventory) for packages of the inventories whose name or
    version is not text, and a V(dependency_audit) overview).
  returned: always
  type: dict
  sample:
    app1:
      vulnerabilities:
        - ids: [GHSA-j8r2-6x86-q33q, PYSEC-2023-74]
          aliases: [CVE-2023-32681]
          ecosystem: PyPI
          package: requests
          version: 2.28.1
          severity: moderate
          fixed: 2.31.0
          source: /srv/monorepo/services/api/uv.lock
          direct: true
database:
  description: What was read - C(advisories), C(withdrawn) ones ignored, C(unreadable) files with why, C(seconds).
  returned: always
  type: dict
"""

import concurrent.futures
import datetime
import json
import re
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url

from ansible_collections.upkeep.maintenance.plugins.module_utils._network import DeadlineExceeded, within
from ansible_collections.upkeep.maintenance.plugins.module_utils._osv import (
    SEVERITIES,
    AdvisoryError,
    Database,
    finding,
    merge_by_alias,
    osv_query_batch,
)
from ansible_collections.upkeep.maintenance.plugins.module_utils._results import result_entry
from ansible_collections.upkeep.maintenance.plugins.module_utils._units import plural
from ansible_collections.upkeep.maintenance.plugins.module_utils._licenses import license_verdict
from ansible_collections.upkeep.maintenance.plugins.module_utils._versions import PYPI, InvalidVersion, is_prerelease, version_key

CONTRACT = dict(critical="critical", high="critical", moderate="warning", low="warning", unknown="warning")


def host_packages(trees):
    """Every package of a host's trees, each once per file it came from; and the packages left out, whose ecosystem,
    name or version is not text (an inventory written by hand, or by another tool), as they were given."""
    seen, packages, left_out = set(), [], []
    for tree in trees if isinstance(trees, list) else [trees]:
        for package in (tree.get("packages") if isinstance(tree, dict) else None) or []:
            key = tuple(package.get(field) for field in ("ecosystem", "name", "version", "source")) \
                if isinstance(package, dict) else (None,)
            if not all(isinstance(value, str) and value for value in key[:3]):
                left_out.append(package)
            elif key not in seen:
                seen.add(key)
                packages.append(dict(package, tree=tree.get("path")))
    return packages, left_out


class Audit(object):
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.database = Database()
        self.matches = {}
        self.notes = []

    def load(self, distinct):
        started = time.monotonic()
        try:
            self.database = Database.load(self.params["database"])
        except (AdvisoryError, OSError) as error:
            self.module.fail_json(msg="cannot read the advisory database: %s" % error)
        if self.params["api_url"]:
            self.ask_api(distinct)
        return round(time.monotonic() - started, 3)

    def ask_api(self, distinct):
        """The advisories the OSV API knows for these packages, added to the database: the matching is then the
        same as for a local one."""
        url = self.params["api_url"].rstrip("/")
        wanted = sorted(distinct)
        try:
            ids = set()
            for start in range(0, len(wanted), 1000):
                chunk = wanted[start:start + 1000]
                for found in within(self.params["timeout"], osv_query_batch, open_url, url, chunk, self.params["timeout"]):
                    ids.update(found)
            for vulnerability in sorted(ids):
                answer = within(self.params["timeout"], lambda vid: json.loads(open_url(
                    "%s/v1/vulns/%s" % (url, vid), timeout=self.params["timeout"]).read()), vulnerability)
                self.database.add(answer, "%s/v1/vulns/%s" % (url, vulnerability))
        except (DeadlineExceeded, OSError, ValueError) as error:
            self.notes.append(result_entry("dependency_advisories", url, "warning",
                                           "the OSV API did not answer (%s): only the local database was used" % error))

    def vulnerabilities(self, package):
        key = (package["ecosystem"], package["name"], package["version"])
        if key not in self.matches:
            groups = merge_by_alias(self.database.matches(*key))
            self.matches[key] = [finding(group, package["ecosystem"], package["version"]) for group in groups]
        return self.matches[key]

    def audit_host(self, packages, left_out, index_answers):
        level = SEVERITIES.index(self.params["audit_level"])
        vulnerabilities, unsure, entries = [], [], []
        for package in packages:
            for found in self.vulnerabilities(package):
                rank = SEVERITIES.index(found["severity"]) if found["severity"] in SEVERITIES else SEVERITIES.index("moderate")
                # What could not be evaluated is said whatever its rating: it may be the worst of them.
                if rank < level and not found["unsure"]:
                    continue
                vulnerability = dict(found, ecosystem=package["ecosystem"], package=package["name"],
                                     version=package["version"], source=package["source"], direct=package.get("direct"))
                (unsure if found["unsure"] else vulnerabilities).append(vulnerability)
                entries.append(vulnerability_entry(vulnerability))
        if left_out:
            entries.append(result_entry(
                "dependency_inventory", "packages", "warning", "%s of the inventory left out: an ecosystem, name or "
                "version that is not text (%s)" % (plural(len(left_out), "package"), ", ".join(
                    repr(package)[:80] for package in left_out[:3]))))
        licenses, license_entries = self.licenses(packages)
        outdated, outdated_entries = self.outdated(packages, index_answers)
        overview = result_entry(
            "dependency_audit", "dependencies", "ok", "%s checked: %s%s%s%s" % (
                plural(len(packages), "package"), plural(len(vulnerabilities), "vulnerability", "vulnerabilities"),
                ", %s that could not be evaluated" % plural(len(unsure), "advisory", "advisories") if unsure else "",
                ", %s" % plural(len(licenses), "license finding") if self.params["allowed_licenses"] else "",
                ", %s" % plural(len(outdated), "outdated package") if self.params["outdated"] else ""),
            metrics=dict(packages=len(packages), vulnerabilities=len(vulnerabilities), unevaluated=len(unsure),
                         licenses=len(licenses), outdated=len(outdated)))
        return dict(vulnerabilities=vulnerabilities, unevaluated=unsure, licenses=licenses, outdated=outdated,
                    upkeep_results=[overview] + entries + license_entries + outdated_entries + list(self.notes))

    def licenses(self, packages):
        allowed = self.params["allowed_licenses"]
        if not allowed:
            return [], []
        known = dict(((package["ecosystem"], package["name"], package["version"]), package["license"])
                     for package in packages if "license" in package)
        findings, seen = [], set()
        for package in packages:
            key = (package["ecosystem"], package["name"], package["version"])
            if key not in known or key in seen:
                continue
            seen.add(key)
            verdict, reason = license_verdict(known[key], allowed)
            if verdict != "allowed":
                findings.append(dict(ecosystem=key[0], package=key[1], version=key[2], license=known[key] or None,
                                     verdict=verdict, reason=reason, source=package["source"]))
        entries = [result_entry("dependency_license", "%s@%s (%s)" % (item["package"], item["version"], item["source"]),
                                "warning", item["reason"], details=dict(license=item["license"], verdict=item["verdict"]))
                   for item in findings]
        return findings, entries

    def outdated(self, packages, index_answers):
        if not self.params["outdated"]:
            return [], []
        findings, entries, seen = [], [], set()
        for package in packages:
            key = (package["ecosystem"], package["name"], package["version"])
            answer = index_answers.get(key[:2])
            if key in seen or not isinstance(answer, dict):
                continue
            seen.add(key)
            behind = how_far_behind(answer, package["ecosystem"], package["version"])
            if behind and behind["days"] > self.params["outdated_days"]:
                item = dict(behind, ecosystem=key[0], package=key[1], version=key[2], source=package["source"])
                findings.append(item)
                entries.append(result_entry(
                    "dependency_outdated", "%s@%s (%s)" % (key[1], key[2], package["source"]), "warning",
                    "%s behind the latest release, %s, for %d days: upgrade to %s" % (
                        plural(item["newer"], "release"), item["latest"], item["days"], item["latest"]),
                    metrics=dict(releases_behind=item["newer"], days_behind=item["days"])))
        failures = sorted(set(answer for answer in index_answers.values() if isinstance(answer, str)))
        entries += [result_entry("dependency_outdated", "package index", "warning",
                                 "outdated check skipped for some packages: %s" % failure) for failure in failures[:3]]
        return findings, entries

    def ask_indexes(self, packages):
        """{(ecosystem, name): {version: release time}} from the indexes, or the reason they did not answer."""
        wanted = sorted(set((package["ecosystem"], package["name"]) for package in packages))

        def ask(key):
            try:
                return key, within(self.params["timeout"], release_times, self.params, *key)
            except DeadlineExceeded:
                return key, "%s did not answer within %g s" % (index_of(self.params, key[0]), self.params["timeout"])
            except (OSError, ValueError) as error:
                return key, "%s: %s" % (index_of(self.params, key[0]), getattr(error, "reason", None) or error)

        with concurrent.futures.ThreadPoolExecutor(max_workers=self.params["concurrency"]) as pool:
            return dict(pool.map(ask, wanted))


def index_of(params, ecosystem):
    return params["pypi_url"] if ecosystem == PYPI else params["npm_registry_url"]


def release_times(params, ecosystem, name):
    """{version: ISO time of its first upload} of a package, from the index's JSON."""
    if ecosystem == PYPI:
        document = json.loads(open_url("%s/pypi/%s/json" % (params["pypi_url"].rstrip("/"), name),
                                       timeout=params["timeout"], http_agent="upkeep.maintenance").read())
        return dict((version, min(entry.get("upload_time_iso_8601") or "" for entry in files))
                    for version, files in (document.get("releases") or {}).items() if files)
    document = json.loads(open_url("%s/%s" % (params["npm_registry_url"].rstrip("/"), name.replace("/", "%2f")),
                                   timeout=params["timeout"], http_agent="upkeep.maintenance").read())
    times = document.get("time") or {}
    return dict((version, times.get(version, "")) for version in (document.get("versions") or {}))


def how_far_behind(times, ecosystem, version):
    """newer releases (not pre-releases), the latest, and days since the first of them came out; None when none."""
    try:
        current = version_key(ecosystem, version)
    except InvalidVersion:
        return None
    newer = []
    for candidate, released in times.items():
        try:
            key = version_key(ecosystem, candidate)
        except InvalidVersion:
            continue
        if key > current and not is_prerelease(ecosystem, candidate) and released:
            newer.append((key, candidate, released))
    if not newer:
        return None
    newer.sort()
    first_time = min(released for _key, _candidate, released in newer)
    days = (datetime.datetime.now(datetime.timezone.utc) - parse_time(first_time)).days
    return dict(latest=newer[-1][1], newer=len(newer), days=max(days, 0), released=times.get(version))


def parse_time(text):
    """A UTC moment from the ISO 8601 times the indexes write (2020-08-13T16:53:54.152Z)."""
    match = re.match(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})", str(text))
    if not match:
        return datetime.datetime.now(datetime.timezone.utc)
    return datetime.datetime(*[int(part) for part in match.groups()], tzinfo=datetime.timezone.utc)


def vulnerability_entry(item):
    names = ", ".join(item["ids"] + item["aliases"][:3])
    target = "%s@%s (%s)" % (item["package"], item["version"], item["source"])
    if item["unsure"]:
        return result_entry(
            "dependency_vulnerability", target, "warning", "%s, %s: could not tell whether %s %s is affected: %s" % (
                names, item["severity"], item["package"], item["version"], "; ".join(item["problems"])),
            details=dict((key, item[key]) for key in ("ids", "aliases", "severity", "ecosystem", "package", "version",
                                                      "direct", "problems")))
    advice = "upgrade %s to %s" % (item["package"], item["fixed"]) if item["fixed"] else "no fixed version yet"
    return result_entry(
        "dependency_vulnerability", target,
        CONTRACT[item["severity"]], "%s, %s: %s; %s" % (names, item["severity"], item["summary"], advice),
        details=dict((key, item[key]) for key in ("ids", "aliases", "severity", "severity_source", "fixed", "ecosystem",
                                                  "package", "version", "direct", "problems")))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            inventories=dict(type="dict", required=True),
            database=dict(type="list", elements="path", default=[]),
            api_url=dict(type="str"),
            audit_level=dict(type="str", default="moderate", choices=list(SEVERITIES)),
            allowed_licenses=dict(type="list", elements="str", default=[]),
            outdated=dict(type="bool", default=False),
            outdated_days=dict(type="int", default=30),
            pypi_url=dict(type="str", default="https://pypi.org"),
            npm_registry_url=dict(type="str", default="https://registry.npmjs.org"),
            timeout=dict(type="float", default=15),
            concurrency=dict(type="int", default=8),
        ),
        supports_check_mode=True)
    params = module.params
    if not params["database"] and not params["api_url"]:
        module.fail_json(msg="no advisory source: give database (local OSV files), api_url, or both")
    if params["timeout"] <= 0 or params["concurrency"] < 1 or params["outdated_days"] < 0:
        module.fail_json(msg="timeout must be above 0, concurrency 1 or more and outdated_days 0 or more")
    audit = Audit(module)
    read = dict((host, host_packages(trees)) for host, trees in params["inventories"].items())
    packages = dict((host, found) for host, (found, _left_out) in read.items())
    distinct = set((package["ecosystem"], package["name"], package["version"])
                   for host_list in packages.values() for package in host_list)
    seconds = audit.load(distinct)
    index_answers = audit.ask_indexes([package for host_list in packages.values() for package in host_list]) \
        if params["outdated"] else {}
    hosts = dict((host, audit.audit_host(found, left_out, index_answers)) for host, (found, left_out) in read.items())
    database = dict(advisories=audit.database.loaded, withdrawn=audit.database.withdrawn,
                    unreadable=audit.database.unreadable, seconds=seconds)
    if database["unreadable"]:
        note = result_entry("dependency_advisories", ", ".join(params["database"]), "warning", "%s could not be read: %s" % (
            plural(len(database["unreadable"]), "advisory file"), "; ".join(
                "%s: %s" % (item["file"], item["message"]) for item in database["unreadable"][:3])))
        for report in hosts.values():
            report["upkeep_results"].append(note)
    total = sum(len(report["vulnerabilities"]) for report in hosts.values())
    module.exit_json(changed=False, hosts=hosts, database=database,
                     msg="%s on %s, against %s (%s withdrawn ignored)" % (
                         plural(total, "vulnerability", "vulnerabilities"), plural(len(hosts), "host"),
                         plural(database["advisories"], "advisory", "advisories"), database["withdrawn"]))


if __name__ == "__main__":
    main()
