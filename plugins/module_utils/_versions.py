# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Versions as each ecosystem orders them - PEP 440 for PyPI, Semantic Versioning for npm - and the OSV schema's
affected ranges evaluated with them (https://ossf.github.io/osv-schema/#affectedranges-field).

Standard library only: the modules that use this run wherever the inventory module runs."""

import re

PYPI = "PyPI"
NPM = "npm"

PEP440 = re.compile(r"""
    ^\s*v?
    (?:(?P<epoch>[0-9]+)!)?
    (?P<release>[0-9]+(?:\.[0-9]+)*)
    (?:[-_.]?(?P<pre_label>a|b|c|rc|alpha|beta|pre|preview)[-_.]?(?P<pre_number>[0-9]+)?)?
    (?:-(?P<post_implicit>[0-9]+)|[-_.]?(?P<post_label>post|rev|r)[-_.]?(?P<post_number>[0-9]+)?)?
    (?:[-_.]?(?P<dev_label>dev)[-_.]?(?P<dev_number>[0-9]+)?)?
    (?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?
    \s*$""", re.VERBOSE | re.IGNORECASE)
PRE_LABELS = dict(a="a", alpha="a", b="b", beta="b", c="rc", rc="rc", pre="rc", preview="rc")
SEMVER = re.compile(r"^\s*[v=]?\s*(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?\s*$")
# A version as node-semver reads one in a range: the minor and patch may be left out (1.0 is 1.0.0), v and = may lead.
PARTIAL_SEMVER = re.compile(r"^\s*[v=\s]*(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-?([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?\s*$")


class InvalidVersion(ValueError):
    """A version string the ecosystem's rules do not read."""


def pep440_key(text):
    """A sort key ordering versions as PEP 440 does (epoch, release, pre, post, dev, local)."""
    match = PEP440.match(str(text))
    if not match:
        raise InvalidVersion("%r is not a PEP 440 version" % (text,))
    release = tuple(int(part) for part in match.group("release").split("."))
    while len(release) > 1 and release[-1] == 0:
        release = release[:-1]
    pre_label = match.group("pre_label")
    post = match.group("post_implicit") or match.group("post_number") or (0 if match.group("post_label") else None)
    dev = match.group("dev_number") or (0 if match.group("dev_label") else None)
    # A dev release of a final comes before its pre-releases; no pre-release sorts after every pre-release.
    if pre_label:
        pre = (0, PRE_LABELS[pre_label.lower()], int(match.group("pre_number") or 0))
    elif dev is not None and post is None:
        pre = (-1,)
    else:
        pre = (1,)
    post_key = (0,) if post is None else (1, int(post))
    dev_key = (1,) if dev is None else (0, int(dev))
    local = match.group("local")
    local_key = () if local is None else tuple(
        (1, int(part), "") if part.isdigit() else (0, 0, part.lower()) for part in re.split(r"[-_.]", local))
    return (int(match.group("epoch") or 0), release, pre, post_key, dev_key, local_key)


def semver_key(text, partial=False):
    """A sort key ordering versions as Semantic Versioning 2.0.0 does (prerelease identifiers, no build metadata).
    partial reads a version of a range as node-semver does, the parts left out being 0."""
    match = (PARTIAL_SEMVER if partial else SEMVER).match(text if isinstance(text, str) else "")
    if not match:
        raise InvalidVersion("%r is not a semantic version" % (text,))
    major, minor, patch, prerelease = match.groups()
    minor, patch = minor or 0, patch or 0
    if prerelease is None:
        pre = ((2,),)  # a release sorts after all its prereleases
    else:
        pre = tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in prerelease.split("."))
    return (int(major), int(minor), int(patch), (0,) if prerelease is not None else (1,), pre)


def is_prerelease(ecosystem, text):
    """Whether a version is a pre-release (or a development release): not something an upgrade is advised to."""
    if ecosystem == PYPI:
        match = PEP440.match(str(text))
        return bool(match and (match.group("pre_label") or match.group("dev_label")))
    match = SEMVER.match(str(text))
    return bool(match and match.group(4))


def version_key(ecosystem, text, partial=False):
    """The sort key of a version in its ecosystem; InvalidVersion when it does not read. partial reads a version of
    an npm range as npm does (1.0 is 1.0.0)."""
    if not isinstance(text, str):
        raise InvalidVersion("%r is not a version" % (text,))
    if ecosystem == PYPI:
        return pep440_key(text)
    if ecosystem == NPM:
        return semver_key(text, partial)
    raise InvalidVersion("versions of the %s ecosystem are not compared here" % ecosystem)


def range_ordering(range_spec, ecosystem):
    """(the key of an installed version, the key of a version of the range's events) by the range's type: SEMVER
    ranges order by Semantic Versioning whatever the ecosystem, ECOSYSTEM ranges by the ecosystem's own rules."""
    if range_spec.get("type") == "SEMVER":
        return semver_key, lambda text: semver_key(text, True)
    return (lambda text: version_key(ecosystem, text)), (lambda text: version_key(ecosystem, text, True))


def range_affects(range_spec, ecosystem, version):
    """Whether one OSV range (ECOSYSTEM or SEMVER; GIT ranges name commits and are left to the versions list) covers
    the version, evaluated as the schema says: sorted events, introduced opens, fixed and last_affected close (the
    latter inclusively). None when the range is of a type this cannot evaluate; InvalidVersion for a bad event."""
    kind = range_spec.get("type")
    if kind not in ("ECOSYSTEM", "SEMVER"):
        return None
    installed, ordering = range_ordering(range_spec, ecosystem)
    current = installed(version)
    if not isinstance(range_spec.get("events"), list):
        raise InvalidVersion("the range's events %r are not a list" % (range_spec.get("events"),))
    events = []
    for event in range_spec["events"]:
        if not isinstance(event, dict) or len(event) != 1:
            raise InvalidVersion("range event %r is not one of introduced, fixed, last_affected, limit" % (event,))
        (name, value), = event.items()
        if name == "limit":
            continue
        if name not in ("introduced", "fixed", "last_affected"):
            raise InvalidVersion("range event %r is not one of introduced, fixed, last_affected, limit" % (event,))
        key = (-1,) if name == "introduced" and (value == "0" or value == 0 and isinstance(value, int) and not isinstance(value, bool)) else ordering(value)
        events.append((key, name))
    # Events of one version keep the advisory's order: an empty range [introduced X, fixed X] leaves X alone, a range
    # ending at X followed by one starting there (PYSEC-2022-236: fixed 3.1.1, then introduced 3.1.1) affects X.
    events.sort(key=lambda event: (0,) if event[0] == (-1,) else (1, event[0]))
    affected = False
    for key, name in events:
        lower = key == (-1,) or current >= key
        if name == "introduced" and lower:
            affected = True
        elif name == "fixed" and current >= key:
            affected = False
        elif name == "last_affected" and current > key:
            affected = False
    return affected


def first_fixed(affected, ecosystem, version):
    """The lowest fixed version above the installed one among the affected entry's ranges, or None."""
    fixes = []
    for range_spec in affected.get("ranges") or []:
        if not isinstance(range_spec, dict) or range_spec.get("type") not in ("ECOSYSTEM", "SEMVER"):
            continue
        installed, ordering = range_ordering(range_spec, ecosystem)
        for event in range_spec.get("events") if isinstance(range_spec.get("events"), list) else []:
            value = event.get("fixed") if isinstance(event, dict) else None
            if value is None:
                continue
            try:
                key, current = ordering(value), installed(version)
            except InvalidVersion:
                continue
            if key > current:
                fixes.append((key, str(value)))
    return min(fixes)[1] if fixes else None
