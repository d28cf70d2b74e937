#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: sqlite_retention
short_description: Delete the rows of an SQLite database that are older than their retention
version_added: 0.1.0
description:
  - Runs the DELETE statements an operator declared, each with the moment before which rows go bound as the
    parameter C(:cutoff) (never pasted into the SQL), and reports how many rows each deleted.
  - All statements run in one transaction. When one fails, or would delete more rows than its O(statements[].max_rows),
    none of them deletes anything; a rule over its O(statements[].max_rows) is reported V(critical), without failing.
  - Foreign keys are enforced while the rows go (C(PRAGMA foreign_keys)), whatever the application does. Cascades
    declared in the schema run, and a row other rows still refer to stops the deletion instead of leaving them orphans.
  - Only single DELETE statements that use C(:cutoff) are accepted; they are checked before the database is opened.
  - Take a backup first, as the C(upkeep.maintenance.sqlite) role does; reclaim the freed pages with
    M(upkeep.maintenance.sqlite_vacuum) afterwards.
author:
  - upkeep.maintenance contributors (@upkeep)
extends_documentation_fragment:
  - upkeep.maintenance.sqlite
  - upkeep.maintenance.attributes
  - upkeep.maintenance.attributes.PLATFORM
attributes:
  check_mode:
    support: full
    details:
      - In check mode the statements run in a transaction that is rolled back, so the counts are exact.
  diff_mode:
    support: none
options:
  statements:
    description:
      - The retention rules of the database.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: What the rule deletes, for the report (V(events older than 90 days)).
        type: str
        required: true
      sql:
        description:
          - One DELETE statement comparing a time column with the parameter C(:cutoff), for example
            V(DELETE FROM events WHERE created_at < :cutoff).
        type: str
        required: true
      age:
        description: Rows older than this go (V(90d), V(12w), V(36h) or seconds).
        type: str
        required: true
      cutoff_format:
        description:
          - How the time column stores time, so that C(:cutoff) compares with it.
          - V(datetime) is SQLite's own text form, C(YYYY-MM-DD HH:MM:SS) in UTC (what C(datetime('now')) and
            C(CURRENT_TIMESTAMP) store); V(iso8601) is C(YYYY-MM-DDTHH:MM:SSZ); V(unix) is seconds since 1970,
            V(unix_ms) milliseconds; V(julianday) is SQLite's C(julianday()) number.
        type: str
        choices: [datetime, iso8601, unix, unix_ms, julianday]
        default: datetime
      max_rows:
        description:
          - A guard against a wrong rule or a wrong clock; when the statement would delete more rows than this,
            nothing is deleted and the rule is reported V(critical).
        type: int
seealso:
  - module: upkeep.maintenance.sqlite_backup
  - module: upkeep.maintenance.sqlite_vacuum
"""

EXAMPLES = r"""
- name: Keep 90 days of events and a year of finished tasks
  upkeep.maintenance.sqlite_retention:
    path: /srv/app/data/app.db
    statements:
      - name: events older than 90 days
        sql: DELETE FROM events WHERE created_at < :cutoff
        age: 90d
      - name: finished tasks older than a year
        sql: DELETE FROM tasks WHERE status = 'done' AND finished_at < :cutoff
        age: 365d
        cutoff_format: unix
        max_rows: 100000
"""

RETURN = r"""
deleted:
  description: Rows each rule deleted, by rule name (in check mode, or when a rule broke its max_rows, the rows it would delete).
  returned: success
  type: dict
  sample: {"events older than 90 days": 1520}
rows:
  description: Rows deleted by all the rules together (in check mode, the rows they would delete; 0 when a rule broke
    its max_rows).
  returned: success
  type: int
  sample: 1520
cutoffs:
  description: The C(:cutoff) value bound for each rule, by rule name.
  returned: success
  type: dict
  sample: {"events older than 90 days": "2026-08-27 03:00:00"}
upkeep_results:
  description: One entry per rule, check C(sqlite_retention), target C(PATH RULE), C(rows_deleted) in its metrics.
  returned: always
  type: list
  elements: dict
"""

import datetime
import re
import sqlite3

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.upkeep.maintenance.plugins.module_utils._results import result_entry
from ansible_collections.upkeep.maintenance.plugins.module_utils._sqlite import (
    SQLiteMaintenanceError,
    connect,
    explain,
    sqlite_common_argument_spec,
)
from ansible_collections.upkeep.maintenance.plugins.module_utils._units import STAMP, parse_duration, plural

STATEMENT_SPEC = dict(
    name=dict(type="str", required=True),
    sql=dict(type="str", required=True),
    age=dict(type="str", required=True),
    cutoff_format=dict(type="str", default="datetime", choices=["datetime", "iso8601", "unix", "unix_ms", "julianday"]),
    max_rows=dict(type="int"),
)
LEADING_COMMENTS = re.compile(r"\A(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/)*", re.S)
UNIX_EPOCH_JULIAN_DAY = 2440587.5


def cutoff_value(moment, cutoff_format):
    if cutoff_format == "datetime":
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    if cutoff_format == "iso8601":
        return moment.strftime(STAMP)
    seconds = (moment - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)).total_seconds()
    if cutoff_format == "unix":
        return int(seconds)
    if cutoff_format == "unix_ms":
        return int(seconds * 1000)
    return UNIX_EPOCH_JULIAN_DAY + seconds / 86400.0


def validate(statements):
    """Each rule's age in seconds; a statement that is not one DELETE using :cutoff is refused before any connection."""
    ages, names = [], set()
    for rule in statements:
        if rule["name"] in names:
            raise ValueError("two retention rules are named %r" % rule["name"])
        names.add(rule["name"])
        body = LEADING_COMMENTS.sub("", rule["sql"]).rstrip().rstrip(";").rstrip()
        if not re.match(r"DELETE\s+FROM\s", body, re.I):
            raise ValueError("retention rule %r: only a DELETE statement is accepted" % rule["name"])
        if ";" in body and sqlite3.complete_statement(body.split(";", 1)[0] + ";"):
            raise ValueError("retention rule %r: one statement only" % rule["name"])
        if not re.search(r":cutoff\b", body):
            raise ValueError("retention rule %r: the statement must compare with :cutoff" % rule["name"])
        if rule["max_rows"] is not None and rule["max_rows"] < 0:
            raise ValueError("retention rule %r: max_rows cannot be negative" % rule["name"])
        try:
            ages.append(parse_duration(rule["age"]))
        except ValueError as error:
            raise ValueError("retention rule %r: %s" % (rule["name"], error))
    return ages


def apply_rules(conn, statements, ages, now, keep):
    """Rows deleted and cutoffs by rule, and the rules that broke their guard; committed only when ``keep``."""
    deleted, cutoffs, over = {}, {}, []
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("BEGIN IMMEDIATE")
    try:
        for rule, age in zip(statements, ages):
            cutoff = cutoff_value(now - datetime.timedelta(seconds=age), rule["cutoff_format"])
            cursor = conn.execute(rule["sql"], {"cutoff": cutoff})
            deleted[rule["name"]], cutoffs[rule["name"]] = cursor.rowcount, cutoff
            if rule["max_rows"] is not None and cursor.rowcount > rule["max_rows"]:
                over.append(rule["name"])
        conn.execute("COMMIT" if keep and not over else "ROLLBACK")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return deleted, cutoffs, over


def entries(path, statements, deleted, cutoffs, over, check_mode):
    results = []
    for rule in statements:
        name, count = rule["name"], deleted[rule["name"]]
        details = dict(sql=rule["sql"], cutoff=cutoffs[name])
        if over:
            status = "critical" if name in over else "ok"
            summary = ("would delete %s, more than its max_rows %d: nothing was deleted" % (plural(count, "row"), rule["max_rows"])
                       if name in over else "nothing deleted: another rule broke its max_rows")
        else:
            status = "changed" if count else "ok"
            summary = "%s %s older than %s" % ("would delete" if check_mode else "deleted", plural(count, "row"), rule["age"])
        results.append(result_entry("sqlite_retention", "%s %s" % (path, name), status, summary,
                                    metrics=dict(rows_deleted=0 if over or check_mode else count), details=details))
    return results


def main():
    argument_spec = sqlite_common_argument_spec()
    argument_spec.update(statements=dict(type="list", elements="dict", required=True, options=STATEMENT_SPEC))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    path, statements = module.params["path"], module.params["statements"]
    try:
        ages = validate(statements)
    except ValueError as error:
        module.fail_json(msg=str(error))
    try:
        conn = connect(path, module.params["busy_timeout"])
        try:
            deleted, cutoffs, over = apply_rules(conn, statements, ages, datetime.datetime.now(datetime.timezone.utc),
                                                 keep=not module.check_mode)
        finally:
            conn.close()
    except SQLiteMaintenanceError as error:
        module.fail_json(msg=str(error))
    except sqlite3.Error as error:
        module.fail_json(msg=str(explain(error, path, module.params["busy_timeout"])))
    results = entries(path, statements, deleted, cutoffs, over, module.check_mode)
    rows = 0 if over else sum(deleted.values())
    module.exit_json(changed=rows > 0, rows=rows, deleted=deleted, cutoffs=cutoffs, upkeep_results=results)


if __name__ == "__main__":
    main()
