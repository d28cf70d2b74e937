# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The backups role's sets with their folder and file pattern filled in from their kind and source."""

import os

from ansible.errors import AnsibleFilterError

KINDS = ("sqlite", "postgresql", "folder", "volume", "external")


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


def backup_sets(sets, backups_dir):
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
        completed.append(backup)
    return completed


class FilterModule(object):

    def filters(self):
        return {"backup_sets": backup_sets}
