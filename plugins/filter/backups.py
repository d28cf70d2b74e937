# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The backups role's sets with their folder, file pattern and freshness limit filled in from their kind, source and
cadence."""

import os

from ansible.errors import AnsibleFilterError

KINDS = ("sqlite", "postgresql", "folder", "volume", "external")
CADENCES = ("daily", "weekly", "monthly")


def _pattern(backup):
    source = backup.get("source") or ""
    if backup["kind"] == "sqlite":
        stem, suffix = os.path.splitext(os.path.basename(source))
        return "%s-*%s" % (stem, suffix)
    if backup["kind"] == "postgresql":
        return "%s-*.dump" % source
    if backup["kind"] == "folder":
        return "%s-*.tar.zst" % (source.strip("/").replace("/", "_") or "root")
    if backup["kind"] == "volume":
        return "%s-*.tar.zst" % source
    return "*"


def _max_age(backup, max_age, max_age_by_cadence):
    """The set's own limit, else the role-wide one, else the one of its cadence: the weekly run takes the sets of the
    other kinds, something else takes external ones, every night unless the set says otherwise."""
    if backup.get("max_age"):
        return backup["max_age"]
    if max_age:
        return max_age
    cadence = backup["cadence"]
    if cadence not in max_age_by_cadence:
        raise AnsibleFilterError("backup set %s: no freshness limit for the cadence %s in backups_max_age_by_cadence"
                                 % (backup["name"], cadence))
    return max_age_by_cadence[cadence]


def backup_sets(sets, backups_dir, max_age="", max_age_by_cadence=None):
    completed = []
    for backup in sets or []:
        if not isinstance(backup, dict) or not backup.get("name"):
            raise AnsibleFilterError("every backup set needs a name: %r" % (backup,))
        backup = dict(backup, kind=backup.get("kind", "external"))
        if backup["kind"] not in KINDS:
            raise AnsibleFilterError("backup set %s: kind must be one of %s" % (backup["name"], ", ".join(KINDS)))
        if backup["kind"] != "external" and not backup.get("source"):
            raise AnsibleFilterError("backup set %s: a %s set needs its source" % (backup["name"], backup["kind"]))
        if backup["kind"] == "external" and not backup.get("dest"):
            raise AnsibleFilterError("backup set %s: an external set needs the dest folder its backups are in" % backup["name"])
        backup.setdefault("dest", os.path.join(backups_dir, backup["name"]))
        backup.setdefault("pattern", _pattern(backup))
        backup.setdefault("cadence", "daily" if backup["kind"] == "external" else "weekly")
        if backup["cadence"] not in CADENCES:
            raise AnsibleFilterError("backup set %s: cadence must be one of %s" % (backup["name"], ", ".join(CADENCES)))
        if max_age_by_cadence is not None:
            backup["max_age"] = _max_age(backup, max_age, max_age_by_cadence)
        completed.append(backup)
    return completed


class FilterModule(object):

    def filters(self):
        return {"backup_sets": backup_sets}
