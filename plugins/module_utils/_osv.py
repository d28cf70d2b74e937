# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Security advisories in the OSV format (https://ossf.github.io/osv-schema/): read from folders of JSON or YAML
files and from the all.zip exports of osv.dev, indexed by package, matched against installed versions, merged by
alias, and rated (the database's own rating, else the CVSS v3 base score of the vector, else the CVSS v4 one)."""

import io
import json
import math
import os
import re
import zipfile

try:
    # CVSS v4.0 scores come from FIRST's table of expert-scored vector classes, which the cvss package carries.
    from cvss import CVSS4
    from cvss.exceptions import CVSSError
except ImportError:
    CVSS4 = None
    CVSSError = ValueError

from ansible_collections.upkeep.maintenance.plugins.module_utils._versions import (
    NPM,
    PYPI,
    InvalidVersion,
    first_fixed,
    range_affects,
    version_key,
)

ECOSYSTEMS = (PYPI, NPM)
SEVERITIES = ("low", "moderate", "high", "critical")
DATABASE_RATINGS = dict(low="low", moderate="moderate", medium="moderate", high="high", critical="critical")


class AdvisoryError(Exception):
    """A database that cannot be read at all."""


def normalize_name(ecosystem, name):
    """A package's name as its ecosystem compares names: PEP 503 for PyPI; npm names are compared as written."""
    if ecosystem == PYPI:
        return re.sub(r"[-_.]+", "-", name).lower()
    return name


_LOADER = []


def _yaml_loader():
    """A safe YAML loader that reads every plain scalar as the string it is: versions such as 1.10 must not become
    the number 1.1, nor dates datetimes."""
    if not _LOADER:
        try:
            import yaml
        except ImportError:
            raise AdvisoryError("YAML advisories need PyYAML where the audit runs (python3-yaml; the controller has "
                                "it, since Ansible needs it)")

        class StringLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
            pass

        StringLoader.yaml_implicit_resolvers = dict(
            (first, [(tag, pattern) for tag, pattern in resolvers if tag in ("tag:yaml.org,2002:null",)])
            for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items())
        _LOADER.append((StringLoader, yaml))
    return _LOADER[0]


def _parse(name, data):
    if name.endswith(".json"):
        return json.loads(data)
    loader, yaml = _yaml_loader()
    return yaml.load(data, Loader=loader)  # nosec: a safe loader


def advisory_files(paths):
    """(name, bytes) of every advisory under the paths: folders (recursively) of .json, .yaml and .yml files, and
    zip files of them such as osv.dev's per-ecosystem all.zip."""
    for path in paths:
        if os.path.isdir(path):
            for base, folders, files in os.walk(path):
                folders.sort()
                for name in sorted(files):
                    full = os.path.join(base, name)
                    if name.endswith((".json", ".yaml", ".yml")) and os.path.isfile(full):
                        with open(full, "rb") as stream:
                            yield full, stream.read()
        elif zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    if member.endswith((".json", ".yaml", ".yml")):
                        yield "%s:%s" % (path, member), archive.read(member)
        elif os.path.isfile(path) and path.endswith((".json", ".yaml", ".yml")):
            with open(path, "rb") as stream:
                yield path, stream.read()
        else:
            raise AdvisoryError("%s: not a folder of advisories, an OSV zip export or an advisory file" % path)


class Database(object):
    """Advisories indexed by (ecosystem, normalised package name). Files that do not read, and withdrawn
    advisories, are counted, not indexed."""

    def __init__(self):
        self.by_package = {}
        self.loaded = 0
        self.withdrawn = 0
        self.unreadable = []

    @classmethod
    def load(cls, paths):
        database = cls()
        for name, data in advisory_files(paths):
            try:
                advisory = _parse(name, data)
            except AdvisoryError:
                raise
            except Exception as error:  # noqa: B902  (json and yaml raise their own kinds for a file that does not read)
                database.unreadable.append(dict(file=name, message=str(error).splitlines()[0] if str(error) else
                                                type(error).__name__))
                continue
            database.add(advisory, name)
        return database

    def add(self, advisory, source="advisory"):
        if not isinstance(advisory, dict) or not advisory.get("id") or not isinstance(advisory.get("affected"), list):
            self.unreadable.append(dict(file=source, message="not an OSV advisory (no id or affected list)"))
            return
        if advisory.get("withdrawn"):
            self.withdrawn += 1
            return
        self.loaded += 1
        seen = set()
        for affected in advisory["affected"]:
            package = affected.get("package") if isinstance(affected, dict) else None
            if not isinstance(package, dict) or package.get("ecosystem") not in ECOSYSTEMS or not package.get("name"):
                continue
            key = (package["ecosystem"], normalize_name(package["ecosystem"], str(package["name"])))
            if (key, id(affected)) in seen:
                continue
            seen.add((key, id(affected)))
            self.by_package.setdefault(key, []).append((advisory, affected))

    def matches(self, ecosystem, name, version):
        """(advisory, affected entry, problem) for each advisory affecting this version, problem None; and for each
        advisory that may affect it, its ranges or the version not reading, the problem that kept it from telling -
        never a silent pass."""
        found = []
        for advisory, affected in self.by_package.get((ecosystem, normalize_name(ecosystem, name)), []):
            hit, problem = affects(affected, ecosystem, version)
            if hit or problem:
                found.append((advisory, affected, None if hit else problem))
        return found


def affects(affected, ecosystem, version):
    """(whether the affected entry covers the version, what kept a range from telling or None)."""
    if str(version) in [str(listed) for listed in affected.get("versions") or [] if isinstance(listed, (str, int, float))]:
        return True, None
    problems = []
    for range_spec in affected.get("ranges") or []:
        try:
            if not isinstance(range_spec, dict):
                raise InvalidVersion("range %r is not an object" % (range_spec,))
            if range_affects(range_spec, ecosystem, version):
                return True, None
        except InvalidVersion as error:
            problems.append(str(error))
    return False, "; ".join(problems) or None


def cvss3_score(vector):
    """The CVSS v3.0/v3.1 base score of a vector, or None when it does not read."""
    parts = dict(part.split(":", 1) for part in str(vector).split("/")[1:] if ":" in part)
    weights = dict(
        AV=dict(N=0.85, A=0.62, L=0.55, P=0.2), AC=dict(L=0.77, H=0.44), UI=dict(N=0.85, R=0.62),
        C=dict(H=0.56, L=0.22, N=0.0), I=dict(H=0.56, L=0.22, N=0.0), A=dict(H=0.56, L=0.22, N=0.0))
    try:
        scope_changed = parts["S"] == "C"
        privileges = dict(N=0.85, L=0.68 if scope_changed else 0.62, H=0.5 if scope_changed else 0.27)[parts["PR"]]
        metric = dict((name, weights[name][parts[name]]) for name in weights)
    except KeyError:
        return None
    impact_base = 1 - (1 - metric["C"]) * (1 - metric["I"]) * (1 - metric["A"])
    impact = (7.52 * (impact_base - 0.029) - 3.25 * (impact_base - 0.02) ** 15) if scope_changed else 6.42 * impact_base
    exploitability = 8.22 * metric["AV"] * metric["AC"] * privileges * metric["UI"]
    if impact <= 0:
        return 0.0
    raw = min((1.08 if scope_changed else 1.0) * (impact + exploitability), 10)
    # CVSS v3.1's Roundup: the smallest one-decimal number at least raw, without floating-point surprises.
    whole = int(round(raw * 100000))
    return whole / 100000.0 if whole % 10000 == 0 else (math.floor(whole / 10000) + 1) / 10.0


def rating_of_score(score):
    if score is None:
        return None
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "moderate"
    return "low" if score > 0 else None


def cvss4_score(vector):
    """The CVSS v4.0 base score of a vector, or None when it does not read; an ImportError without the cvss package."""
    if CVSS4 is None:
        raise ImportError("CVSS v4 vectors are scored with the cvss package: pip install cvss on the controller")
    try:
        return float(CVSS4(str(vector)).base_score)
    except (CVSSError, ValueError, TypeError):
        return None


def rating(advisory, affected=None):
    """(rating, where from): the database's own rating (GitHub's database_specific.severity, or the affected entry's
    ecosystem_specific.severity), else the CVSS v3 base score of its vector, else the v4 one; (None, None) when it
    has neither, and (None, why) for a v4 vector that cannot be scored here."""
    for source in ((affected or {}).get("ecosystem_specific"), (affected or {}).get("database_specific"),
                   advisory.get("database_specific")):
        if isinstance(source, dict) and str(source.get("severity", "")).lower() in DATABASE_RATINGS:
            return DATABASE_RATINGS[str(source["severity"]).lower()], "database"
    vectors = [severity for severity in advisory.get("severity") or [] if isinstance(severity, dict)]
    for severity in vectors:
        if str(severity.get("type", "")).startswith("CVSS_V3"):
            score = cvss3_score(severity.get("score"))
            if score is not None:
                return rating_of_score(score), "CVSS %s" % score
    for severity in vectors:
        if severity.get("type") == "CVSS_V4":
            try:
                score = cvss4_score(severity.get("score"))
            except ImportError as error:
                return None, "%s not scored: %s" % (severity.get("score"), error)
            if score is not None:
                return rating_of_score(score), "CVSS %s (v4)" % score
    return None, None


def merge_by_alias(matches):
    """Groups of matches that are one vulnerability: advisories sharing an id or alias (PYSEC, GHSA and CVE of
    the same flaw) make one group."""
    groups = []
    for match in matches:
        names = set([match[0]["id"]] + [str(alias) for alias in match[0].get("aliases") or []])
        joined = [group for group in groups if group["names"] & names]
        merged = dict(names=names, matches=[match])
        for group in joined:
            merged["names"] |= group["names"]
            merged["matches"] += group["matches"]
            groups.remove(group)
        groups.append(merged)
    return groups


def finding(group, ecosystem, version):
    """One vulnerability of one package: its ids (advisory ids first, then aliases), summary, rating and the first
    version that fixes every advisory merged into it; unsure when none of its advisories could tell, each for the
    problem it names."""
    advisories = [advisory for advisory, _affected, _problem in group["matches"]]
    ids = sorted(set(advisory["id"] for advisory in advisories), key=id_order)
    aliases = sorted(group["names"] - set(ids), key=id_order)
    ratings = [rating(advisory, affected) for advisory, affected, _problem in group["matches"]]
    rated = [(SEVERITIES.index(level), level, source) for level, source in ratings if level]
    fixes = [fix for fix in (first_fixed(affected, ecosystem, version) for _advisory, affected, _problem in group["matches"]) if fix]
    fixed = max(fixes, key=lambda fix: version_key(ecosystem, fix, True)) if fixes else None
    summary = next((str(advisory.get("summary")) for advisory in advisories if advisory.get("summary")), None) or \
        next((str(advisory.get("details", "")).strip().splitlines()[0] for advisory in advisories
              if str(advisory.get("details", "")).strip()), ids[0])
    return dict(ids=ids, aliases=aliases, summary=summary[:200], severity=max(rated)[1] if rated else "unknown",
                severity_source=max(rated)[2] if rated else next((source for _level, source in ratings if source), None),
                fixed=fixed, unsure=all(problem for _advisory, _affected, problem in group["matches"]),
                problems=sorted(set(problem for _advisory, _affected, problem in group["matches"] if problem)))


def id_order(name):
    """GHSA first (it carries GitHub's rating), then PYSEC, CVE, and the rest."""
    prefix = name.split("-", 1)[0]
    return ({"GHSA": 0, "PYSEC": 1, "CVE": 2}.get(prefix, 3), name)


def osv_query_batch(open_url, url, packages, timeout):
    """The ids of the advisories the OSV API knows for each (ecosystem, name, version), in order."""
    queries = [dict(package=dict(ecosystem=ecosystem, name=name), version=version) for ecosystem, name, version in packages]
    answer = open_url(url.rstrip("/") + "/v1/querybatch", data=json.dumps(dict(queries=queries)), method="POST",
                      headers={"Content-Type": "application/json"}, timeout=timeout)
    results = json.load(io.TextIOWrapper(answer, encoding="utf-8")).get("results") or []
    return [[vuln["id"] for vuln in (result or {}).get("vulns") or []] for result in results]
