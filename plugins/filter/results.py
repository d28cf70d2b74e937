# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Filters over the results contract: collect entries from registered tasks, build a run's report, summarise it."""

from ansible.errors import AnsibleFilterError

from ansible_collections.upkeep.maintenance.plugins.module_utils._results import STATUSES, human_bytes, result_entry, worst_status


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


def upkeep_entry(summary, check, target, status, metrics=None, details=None):
    """One entry made by a role for what a task without its own entries (a command, a handler) did."""
    try:
        return result_entry(check, target, status, summary, metrics=metrics, details=details)
    except ValueError as error:
        raise AnsibleFilterError("upkeep_entry: %s" % error)


def upkeep_report(hostvars, hosts, run, finished):
    entries = []
    for host in hosts:
        for entry in hostvars.get(host, {}).get("upkeep_results", []) or []:
            entries.append(dict(entry, host=host))
    counts = dict((status, 0) for status in STATUSES)
    for entry in entries:
        counts[entry["status"]] = counts.get(entry["status"], 0) + 1
    return dict(
        run=run,
        finished=finished,
        hosts=list(hosts),
        status=worst_status(entry["status"] for entry in entries),
        counts=counts,
        bytes_reclaimed=sum(int(entry.get("metrics", {}).get("bytes_reclaimed", 0) or 0) for entry in entries),
        entries=entries,
    )


def upkeep_summary(report):
    counts = ", ".join("%d %s" % (count, status) for status, count in report["counts"].items() if count)
    lines = ["%s: %d checks on %d hosts (%s); %s reclaimed" % (
        report["run"], len(report["entries"]), len(report["hosts"]), counts or "nothing reported",
        human_bytes(report["bytes_reclaimed"]))]
    lines.extend("%s %-8s %s %s: %s" % (entry["host"], entry["status"].upper(), entry["check"], entry["target"], entry["summary"])
                 for entry in report["entries"] if entry["status"] != "ok")
    return lines


class FilterModule(object):

    def filters(self):
        return {
            "upkeep_entries": upkeep_entries,
            "upkeep_entry": upkeep_entry,
            "upkeep_report": upkeep_report,
            "upkeep_summary": upkeep_summary,
        }
