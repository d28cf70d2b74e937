# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Entries of the shared results contract (docs/results.md).

Every module returns its findings as ``upkeep_results``, a list of entries that the roles
append to the ``upkeep_results`` fact, so that the report, metrics and notifications read
one format.
"""

import datetime

# Ordered from best to worst: the worst status of a set of entries is the one with the highest index.
STATUSES = ("ok", "changed", "warning", "critical", "failed")

# fail_on values shared by the checking modules, mapped to the statuses that make a module fail; "error" fails only
# when a check could not run.
FAIL_ON_STATUSES = {
    "critical": ("critical", "failed"),
    "warning": ("warning", "critical", "failed"),
    "error": ("failed",),
    "never": (),
}


def result_entry(check, target, status, summary, metrics=None, details=None):
    if status not in STATUSES:
        raise ValueError("unknown status %r" % (status,))
    return {
        "check": check,
        "target": target,
        "status": status,
        "summary": summary,
        "metrics": metrics or {},
        "details": details or {},
        "timestamp": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def worst_status(statuses, default="ok"):
    ranked = [STATUSES.index(status) for status in statuses]
    return STATUSES[max(ranked)] if ranked else default


def failing_entries(entries, fail_on):
    """The entries whose status makes a module with this ``fail_on`` fail."""
    statuses = FAIL_ON_STATUSES[fail_on]
    return [entry for entry in entries if entry["status"] in statuses]


def human_bytes(count):
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024:
            return ("%d %s" % (value, unit)) if unit == "B" else ("%.1f %s" % (value, unit))
        value /= 1024
    return "%.1f TiB" % value


def plural(count, noun, nouns=None):
    """``1 host``, ``2 hosts``: a count with its noun as people write it."""
    return "%d %s" % (count, noun if count == 1 else (nouns or noun + "s"))
