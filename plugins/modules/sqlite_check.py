#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: sqlite_check
short_description: Check the integrity, size and content of an SQLite database without changing it
version_added: 0.1.0
description:
  - Opens the database read-only and runs C(PRAGMA integrity_check) or C(PRAGMA quick_check).
  - Reports page size and count, free pages and their share, file and WAL size, journal mode,
    whether VACUUM is due by the same thresholds as M(upkeep.maintenance.sqlite_vacuum),
    optionally the row count of every table, and the results of user queries whose scalar result must stay within bounds.
  - A corrupt database, or a file that is not a database, is reported with SQLite's own messages
    and fails the task unless O(fail_on) says otherwise.
  - User queries run on a read-only connection with C(PRAGMA query_only), so they cannot change the database.
author:
  - upkeep.maintenance contributors (@upkeep)
extends_documentation_fragment:
  - upkeep.maintenance.sqlite
  - upkeep.maintenance.sqlite.VACUUM_THRESHOLDS
  - upkeep.maintenance.sqlite.INTEGRITY
  - upkeep.maintenance.attributes
  - upkeep.maintenance.attributes.INFO_MODULE
  - upkeep.maintenance.attributes.PLATFORM
options:
  path:
    description:
      - Path of the SQLite database file on the managed host; the file must exist.
      - Give O(path) for one database, or O(databases) for several in one call.
    type: path
    required: false
  databases:
    description:
      - Several databases checked in one call, each with its own settings; the module's own values apply where a
        database gives none.
      - A database that cannot be opened or read is reported as V(failed) without stopping the check of the others.
      - The results are in RV(databases), one per database in the order given.
    type: list
    elements: dict
    suboptions:
      path:
        description: The database file.
        type: path
        required: true
      busy_timeout:
        description: This database's O(busy_timeout).
        type: float
      integrity:
        description: This database's O(integrity).
        type: str
        choices: [full, quick]
      min_freelist_ratio:
        description: This database's O(min_freelist_ratio).
        type: float
      min_freelist_pages:
        description: This database's O(min_freelist_pages).
        type: int
      row_counts:
        description: This database's O(row_counts).
        type: bool
      journal_mode:
        description: This database's O(journal_mode).
        type: str
        choices: [delete, truncate, persist, wal]
      queries:
        description: This database's O(queries), in place of the module's.
        type: list
        elements: dict
        suboptions:
          name:
            description: Name of the check, shown in the results.
            type: str
            required: true
          sql:
            description: A read-only SQL statement returning one scalar.
            type: str
            required: true
          min:
            description: Smallest value that is fine.
            type: float
          max:
            description: Largest value that is fine.
            type: float
          severity:
            description: Status reported when the value is out of bounds.
            type: str
            choices: [warning, critical]
            default: warning
  row_counts:
    description:
      - Count the rows of every table (C(SELECT count(*)) each, which reads the whole table).
    type: bool
    default: false
  journal_mode:
    description:
      - The journal mode the database should be in (V(wal) for an application that reads while it writes); a
        database in another mode is a V(warning) entry C(sqlite_journal_mode). Not checked when left out.
      - The journal mode is the only such setting stored in the database file. C(PRAGMA synchronous),
        C(cache_size) and C(temp_store) belong to each connection and end with it, so only the application can set
        them; M(upkeep.maintenance.sqlite_vacuum) sets the journal mode.
    type: str
    choices: [delete, truncate, persist, wal]
  queries:
    description:
      - Named SQL queries whose first column of the first row is compared with O(queries[].min) and O(queries[].max),
        for example the number of orphaned or duplicate records.
      - A query that fails or returns no row is reported as V(failed).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Name of the check, shown in the results.
        type: str
        required: true
      sql:
        description: A read-only SQL statement returning one scalar.
        type: str
        required: true
      min:
        description: Smallest value that is fine.
        type: float
      max:
        description: Largest value that is fine.
        type: float
      severity:
        description: Status reported when the value is out of bounds.
        type: str
        choices: [warning, critical]
        default: warning
  fail_on:
    description:
      - V(critical) fails the task when the database is corrupt or a critical query is out of bounds.
      - V(warning) also fails on warnings.
      - V(never) only reports, for example to restore a corrupt database in a later task.
    type: str
    choices: [critical, warning, never]
    default: critical
seealso:
  - module: upkeep.maintenance.sqlite_vacuum
  - module: upkeep.maintenance.sqlite_backup
"""

EXAMPLES = r"""
- name: Check the application database
  upkeep.maintenance.sqlite_check:
    path: /srv/app/data/app.db

- name: Quick check of a large database, with row counts and data rules, reporting only
  upkeep.maintenance.sqlite_check:
    path: /srv/app/data/app.db
    integrity: quick
    row_counts: true
    fail_on: never
    queries:
      - name: work orders without a customer
        sql: SELECT count(*) FROM work_orders WHERE customer_id IS NULL
        max: 0
        severity: critical
      - name: customers
        sql: SELECT count(*) FROM customers
        min: 1
  register: app_db

- name: Check every database of the application in one call
  upkeep.maintenance.sqlite_check:
    databases:
      - path: /srv/app/data/app.db
        row_counts: true
      - path: /srv/app/data/sessions.db
        integrity: quick
    fail_on: never
  register: app_databases

- name: Show what VACUUM would reclaim
  ansible.builtin.debug:
    msg: "{{ app_db.reclaimable_bytes | human_readable }} reclaimable (VACUUM due: {{ app_db.vacuum_due }})"
"""

RETURN = r"""
integrity:
  description: V(ok), or V(corrupt) when the check found problems or the file is not a database.
  returned: with O(path)
  type: str
  sample: ok
integrity_errors:
  description: SQLite's messages for what is wrong, at most 100.
  returned: with O(path)
  type: list
  elements: str
  sample: ["*** in database main ***\nPage 5: btreeInitPage() returns error code 11"]
size:
  description: Size of the database file in bytes.
  returned: with O(path)
  type: int
  sample: 104857600
wal_size:
  description: Size of the C(-wal) file in bytes, 0 when there is none.
  returned: with O(path), when the database could be opened
  type: int
  sample: 0
page_size:
  description: Page size in bytes.
  returned: with O(path), when the database could be opened
  type: int
  sample: 4096
page_count:
  description: Number of pages in the database.
  returned: with O(path), when the database could be opened
  type: int
  sample: 25600
freelist_count:
  description: Number of free pages, which VACUUM gives back to the file system.
  returned: with O(path), when the database could be opened
  type: int
  sample: 12800
freelist_ratio:
  description: Free pages as a share of all pages.
  returned: with O(path), when the database could be opened
  type: float
  sample: 0.5
reclaimable_bytes:
  description: Bytes VACUUM would give back (free pages times page size).
  returned: with O(path), when the database could be opened
  type: int
  sample: 52428800
journal_mode:
  description: The database's journal mode, for example V(delete) or V(wal).
  returned: with O(path), when the database could be opened
  type: str
  sample: wal
vacuum_due:
  description: Whether VACUUM is due by O(min_freelist_ratio) and O(min_freelist_pages).
  returned: with O(path)
  type: bool
  sample: true
tables:
  description: Row count of every table.
  returned: with O(path), when O(row_counts=true) and the database is sound
  type: dict
  sample: {"customers": 120, "work_orders": 5400}
queries:
  description: One entry per query in O(queries).
  returned: with O(path)
  type: list
  elements: dict
  contains:
    name:
      description: The query's name.
      type: str
    value:
      description: The scalar the query returned, null when it failed or returned no row.
      type: raw
    status:
      description: V(ok), the query's O(queries[].severity) when out of bounds, or V(failed).
      type: str
    message:
      description: What was found, in words.
      type: str
  sample: [{"name": "customers", "value": 120, "status": "ok", "message": "customers = 120 (min 1)"}]
databases:
  description:
    - With O(databases), what is returned above for one database, for each database in the order given, with its
      C(path); a database that could not be checked has C(integrity=error) and the reason in C(error).
  returned: with O(databases)
  type: list
  elements: dict
  sample: [{"path": "/srv/app/data/app.db", "integrity": "ok", "vacuum_due": false, "size": 104857600}]
status:
  description: The worst status of the entries in RV(upkeep_results).
  returned: always
  type: str
  sample: ok
upkeep_results:
  description: The findings as entries of the collection's results contract (C(docs/results.md)).
  returned: always
  type: list
  elements: dict
  sample:
    - check: sqlite_integrity
      target: /srv/app/data/app.db
      status: ok
      summary: "integrity ok; 100.0 MiB, 50 % free pages: VACUUM due (50.0 MiB reclaimable)"
      metrics: {"size_bytes": 104857600, "freelist_ratio": 0.5}
      details: {"journal_mode": "wal"}
      timestamp: "2026-11-23T09:00:00Z"
"""

import os
import sqlite3

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.upkeep.maintenance.plugins.module_utils._results import failing_entries, result_entry, worst_status
from ansible_collections.upkeep.maintenance.plugins.module_utils._units import human_bytes
from ansible_collections.upkeep.maintenance.plugins.module_utils._sqlite import (
    INTEGRITY_ARGUMENT_SPEC,
    VACUUM_THRESHOLD_ARGUMENT_SPEC,
    SQLiteMaintenanceError,
    connect,
    database_stats,
    explain,
    integrity_errors,
    row_counts,
    sqlite_common_argument_spec,
    vacuum_due,
)


QUERY_OPTIONS = dict(
    name=dict(type="str", required=True),
    sql=dict(type="str", required=True),
    min=dict(type="float"),
    max=dict(type="float"),
    severity=dict(type="str", default="warning", choices=["warning", "critical"]),
)

# What each database of O(databases) may set for itself.
SETTINGS = ("busy_timeout", "integrity", "min_freelist_ratio", "min_freelist_pages", "row_counts", "queries", "journal_mode")


def evaluate_query(conn, query):
    bounds = ", ".join("%s %g" % (word, query[word]) for word in ("min", "max") if query[word] is not None)
    try:
        row = conn.execute(query["sql"]).fetchone()
    except sqlite3.Error as error:
        return dict(name=query["name"], value=None, status="failed", message="%s: query failed: %s" % (query["name"], error))
    if row is None:
        return dict(name=query["name"], value=None, status="failed", message="%s: the query returned no row" % query["name"])
    value = row[0]
    try:
        within = ((query["min"] is None or value >= query["min"]) and (query["max"] is None or value <= query["max"]))
    except TypeError:
        within = False
    message = "%s = %s%s" % (query["name"], value, " (%s)" % bounds if bounds else "")
    return dict(name=query["name"], value=value, status="ok" if within else query["severity"], message=message)


def inspect(settings, conn, path):
    report = database_stats(conn, path)
    report["integrity_errors"] = integrity_errors(conn, settings["integrity"])
    report["integrity"] = "corrupt" if report["integrity_errors"] else "ok"
    report["vacuum_due"] = vacuum_due(report, settings["min_freelist_ratio"], settings["min_freelist_pages"])
    if settings["row_counts"] and not report["integrity_errors"]:
        report["tables"] = row_counts(conn)
    report["queries"] = [evaluate_query(conn, query) for query in settings["queries"]]
    return report


def check(settings):
    """One database's report and entries; SQLiteMaintenanceError when it cannot be checked at all."""
    path = settings["path"]
    try:
        conn = connect(path, settings["busy_timeout"], readonly=True)
        try:
            report = inspect(settings, conn, path)
        finally:
            conn.close()
    except SQLiteMaintenanceError as error:
        if error.kind != "corrupt":
            raise
        report = dict(integrity="corrupt", integrity_errors=[str(error)], size=os.path.getsize(path),
                      vacuum_due=False, queries=[])
    except sqlite3.Error as error:
        raise explain(error, path, settings["busy_timeout"])
    entries = [integrity_entry(path, report)]
    if settings["journal_mode"] and "journal_mode" in report:
        wanted = settings["journal_mode"]
        entries.append(result_entry(
            "sqlite_journal_mode", path, "ok" if report["journal_mode"] == wanted else "warning",
            "journal mode %s%s" % (report["journal_mode"], "" if report["journal_mode"] == wanted else ", wanted %s" % wanted),
            details=dict(journal_mode=report["journal_mode"], wanted=wanted)))
    entries.extend(result_entry("sqlite_query", "%s:%s" % (path, query["name"]), query["status"], query["message"],
                                metrics=dict(value=query["value"]) if isinstance(query["value"], (int, float)) else {})
                   for query in report["queries"])
    return report, entries


def check_all(module):
    """Every database of O(databases): one failing to open does not stop the others."""
    reports, entries = [], []
    for database in module.params["databases"]:
        settings = dict((key, module.params[key] if database.get(key) is None else database[key]) for key in SETTINGS)
        settings["path"] = database["path"]
        try:
            report, found = check(settings)
        except SQLiteMaintenanceError as error:
            report = dict(integrity="error", error=str(error), vacuum_due=False)
            found = [result_entry("sqlite_integrity", settings["path"], "failed", str(error))]
        reports.append(dict(report, path=settings["path"]))
        entries.extend(found)
    return dict(databases=reports), entries


def integrity_entry(path, report):
    if report["integrity_errors"]:
        return result_entry(
            "sqlite_integrity", path, "critical",
            "database is corrupt: %s" % report["integrity_errors"][0].splitlines()[-1],
            metrics=dict(size_bytes=report["size"], integrity_errors=len(report["integrity_errors"])),
            details=dict(errors=report["integrity_errors"]))
    summary = "integrity ok; %s, %d %% free pages" % (human_bytes(report["size"]), round(report["freelist_ratio"] * 100))
    if report["vacuum_due"]:
        summary += ": VACUUM due (%s reclaimable)" % human_bytes(report["reclaimable_bytes"])
    metrics = dict(
        size_bytes=report["size"], wal_size_bytes=report["wal_size"], page_count=report["page_count"],
        freelist_count=report["freelist_count"], freelist_ratio=report["freelist_ratio"],
        reclaimable_bytes=report["reclaimable_bytes"])
    metrics.update(("rows_%s" % table, count) for table, count in report.get("tables", {}).items())
    return result_entry("sqlite_integrity", path, "ok", summary, metrics=metrics,
                        details=dict(journal_mode=report["journal_mode"], vacuum_due=report["vacuum_due"]))


def main():
    argument_spec = sqlite_common_argument_spec()
    argument_spec.update(VACUUM_THRESHOLD_ARGUMENT_SPEC)
    argument_spec.update(INTEGRITY_ARGUMENT_SPEC)
    argument_spec["path"] = dict(type="path")
    argument_spec.update(
        row_counts=dict(type="bool", default=False),
        queries=dict(type="list", elements="dict", default=[], options=QUERY_OPTIONS),
        journal_mode=dict(type="str", choices=["delete", "truncate", "persist", "wal"]),
        fail_on=dict(type="str", default="critical", choices=["critical", "warning", "never"]),
    )
    # A database's own settings are the module's options without their defaults, which then apply.
    database_options = dict((key, dict((name, value) for name, value in argument_spec[key].items() if name != "default"))
                            for key in SETTINGS)
    database_options["path"] = dict(type="path", required=True)
    argument_spec["databases"] = dict(type="list", elements="dict", options=database_options)
    module = AnsibleModule(argument_spec=argument_spec, mutually_exclusive=[("path", "databases")],
                           required_one_of=[("path", "databases")], supports_check_mode=True)

    if module.params["databases"] is not None:
        report, entries = check_all(module)
    else:
        try:
            report, entries = check(dict(module.params))
        except SQLiteMaintenanceError as error:
            module.fail_json(msg=str(error))
    report.update(changed=False, status=worst_status(entry["status"] for entry in entries), upkeep_results=entries)
    failing = failing_entries(entries, module.params["fail_on"])
    if failing:
        module.fail_json(msg="; ".join("%s: %s" % (entry["target"], entry["summary"]) for entry in failing), **report)
    if module.params["databases"] is None:
        summary = entries[0]["summary"]
    else:
        summary = "%d databases checked, worst status %s" % (len(report["databases"]), report["status"])
    module.exit_json(msg=summary, **report)


if __name__ == "__main__":
    main()
