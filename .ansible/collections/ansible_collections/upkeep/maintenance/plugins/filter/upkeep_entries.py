# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Collect results-contract entries from a registered task, failed loop items included."""

from ansible.errors import AnsibleFilterError

from ansible_collections.upkeep.maintenance.plugins.module_utils._results import result_entry


def _items(registered):
    if not isinstance(registered, dict):
        raise AnsibleFilterError("upkeep_entries expects a registered task result, got %s" % type(registered).__name__)
    return registered.get("results", [registered])


def upkeep_entries(registered, check, target_key="path"):
    entries = []
    for item in _items(registered):
        if item.get("skipped"):
            continue
        if item.get("failed"):
            loop_item = item.get("item") or {}
            target = loop_item.get(target_key, "") if isinstance(loop_item, dict) else str(loop_item)
            entries.append(result_entry(check, target, "failed", str(item.get("msg", "failed without a message")),
                                        details=dict(result=dict((key, item[key]) for key in ("rc", "stderr") if key in item))))
            continue
        entries.extend(item.get("upkeep_results", []))
    return entries


class FilterModule(object):

    def filters(self):
        return {"upkeep_entries": upkeep_entries}
