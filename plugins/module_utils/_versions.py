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


def semver_key(text):
    """A sort key ordering versions as Semantic Versioning 2.0.0 does (prerelease identifiers, no build metadata)."""
    match = SEMVER.match(str(text))
    if not match:
        raise InvalidVersion("%r is not a semantic version" % (text,))
    major, minor, patch, prerelease = match.groups()
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


def version_key(ecosystem, text):
    """The sort key of a version in its ecosystem; InvalidVersion when it does not read."""
    if ecosystem == PYPI:
        return pep440_key(text)
    if ecosystem == NPM:
        return semver_key(text)
    raise InvalidVersion("versions of the %s ecosystem are not compared here" % ecosystem)


def range_affects(range_spec, ecosystem, version):
    """Whether one OSV range (ECOSYSTEM or SEMVER; GIT ranges name commits and are left to the versions list) covers
    the version, evaluated as the schema says: sorted events, introduced opens, fixed and last_affected close (the
    latter inclusively). None when the range is of a type this cannot evaluate; InvalidVersion for a bad event."""
    kind = range_spec.get("type")
    if kind not in ("ECOSYSTEM", "SEMVER"):
        return None
    ordering = semver_key if kind == "SEMVER" else (lambda text: version_key(ecosystem, text))
    current = ordering(version)
    events = []
    for event in range_spec.get("events") or []:
        if not isinstance(event, dict) or len(event) != 1:
            raise InvalidVersion("range event %r is not one of introduced, fixed, last_affected, limit" % (event,))
        (name, value), = event.items()
        if name == "limit":
            continue
        if name not in ("introduced", "fixed", "last_affected"):
            raise InvalidVersion("range event %r is not one of introduced, fixed, last_affected, limit" % (event,))
        key = (-1,) if name == "introduced" and str(value) == "0" else ordering(value)
        events.append((key, name))
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
    current = version_key(ecosystem, version)
    for range_spec in affected.get("ranges") or []:
        if range_spec.get("type") not in ("ECOSYSTEM", "SEMVER"):
            continue
        for event in range_spec.get("events") or []:
            value = event.get("fixed") if isinstance(event, dict) else None
            if value is None:
                continue
            try:
                key = version_key(ecosystem, value) if range_spec["type"] == "ECOSYSTEM" else semver_key(value)
            except InvalidVersion:
                continue
            if key > current:
                fixes.append((key, str(value)))
    return min(fixes)[1] if fixes else None
