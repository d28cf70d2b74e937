#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: postgresql_reindex
short_description: Rebuild bloated PostgreSQL indexes concurrently, cleaning up after interrupted rebuilds
version_added: 0.1.0
description:
  - Rebuilds the indexes listed in O(indexes) or, when none are listed, the B-tree indexes whose estimated bloat is at
    least O(min_bloat_ratio) and wastes at least O(min_bloat_bytes) (measured with C(pgstattuple) when the extension is
    installed, else estimated from the catalog).
  - Uses C(REINDEX INDEX CONCURRENTLY) (PostgreSQL 12 and newer) by default, which lets the application read and write
    the table throughout.
  - An interrupted concurrent rebuild leaves an invalid copy named C(<index>_ccnew) (or C(_ccold)) that slows down every
    write and is never used. They are found and dropped (C(DROP INDEX CONCURRENTLY)) before any rebuild, and right
    after a rebuild of this run that gives up. A drop that cannot get its lock is tried three times; a leftover
    that still remains fails the task, named in RV(leftovers_remaining).
  - A rebuild that would wait for the application longer than the session's O(lock_timeout) or O(statement_timeout)
    gives up, is reported as skipped, and its leftover is dropped.
author:
  - upkeep.maintenance contributors (@upkeep)
extends_documentation_fragment:
  - upkeep.maintenance.postgresql
  - upkeep.maintenance.postgresql.TIMEOUTS
  - upkeep.maintenance.postgresql.SCHEMAS
  - upkeep.maintenance.attributes
  - upkeep.maintenance.attributes.PLATFORM
attributes:
  check_mode:
    support: full
    details:
      - Check mode returns the indexes that would be rebuilt and the leftovers that would be dropped.
  diff_mode:
    support: none
options:
  indexes:
    description:
      - Indexes to rebuild, as C(schema.index) or C(index). When empty, indexes are chosen by their bloat.
      - Cannot be combined with O(schemas) or O(exclude_schemas).
    type: list
    elements: str
    default: []
  min_bloat_ratio:
    description:
      - Automatic selection rebuilds an index whose size is at least this many times the size its entries need.
    type: float
    default: 2.0
  min_bloat_bytes:
    description:
      - Automatic selection rebuilds an index only when its bloat wastes at least this many bytes.
    type: int
    default: 8388608
  every_index:
    description:
      - Rebuild every valid index of the database (of O(schemas)), bloated or not - what C(REINDEX DATABASE) does
        for the user's tables, one index at a time (concurrently unless O(concurrently=false)), each reported with its
        size before and after, and stopping at no lock it cannot get within O(lock_timeout). A monthly option.
    type: bool
    default: false
  concurrently:
    description:
      - Rebuild without blocking writes (C(REINDEX INDEX CONCURRENTLY), PostgreSQL 12 and newer). V(false) uses a plain
        C(REINDEX INDEX), which blocks writes to the table while it runs.
    type: bool
    default: true
seealso:
  - module: upkeep.maintenance.postgresql_maintenance_info
  - module: upkeep.maintenance.postgresql_vacuum
  - name: REINDEX
    description: Rebuilding indexes, concurrently, and what an interrupted rebuild leaves behind.
    link: https://www.postgresql.org/docs/current/sql-reindex.html
"""

EXAMPLES = r"""
- name: Weekly - rebuild indexes that are more than twice their needed size
  upkeep.maintenance.postgresql_reindex:
    db: app
    login_unix_socket: /var/run/postgresql
  become: true
  become_user: postgres

- name: Rebuild two listed indexes, waiting at most 2 s for the application's locks
  upkeep.maintenance.postgresql_reindex:
    db: app
    indexes: [public.orders_updated_idx, sales.lines_order_id_idx]
    lock_timeout: 2s
  register: reindex

- name: Report the space given back
  ansible.builtin.debug:
    msg: "{{ item.name }}: {{ item.size_before }} to {{ item.size_after }} bytes"
  loop: "{{ reindex.indexes }}"
"""

RETURN = r"""
indexes:
  description: The indexes chosen, in order, with what happened to each.
  returned: always
  type: list
  elements: dict
  contains:
    schema:
      description: Schema of the index.
      type: str
    table:
      description: Table of the index.
      type: str
    name:
      description: Name of the index.
      type: str
    reason:
      description: Why it was chosen.
      type: str
    size_before:
      description: Bytes before.
      type: int
    size_after:
      description: Bytes after (the same as before in check mode and when skipped).
      type: int
    duration:
      description: Seconds the rebuild took.
      type: float
    skipped:
      description: Whether the rebuild gave up because of a lock or a timeout.
      type: bool
    skip_reason:
      description: The server's reason for a skip, or the error of a failed rebuild.
      type: str
    sql:
      description: The statement.
      type: str
  sample:
    - schema: public
      table: orders
      name: orders_updated_idx
      reason: bloat 3.9x (160.0 KiB wasted)
      size_before: 458752
      size_after: 65536
      duration: 0.12
      skipped: false
      skip_reason: null
      sql: REINDEX INDEX CONCURRENTLY "public"."orders_updated_idx"
leftovers_dropped:
  description: Invalid indexes left by interrupted concurrent rebuilds that were dropped (or would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [public.orders_updated_idx_ccnew]
leftovers_remaining:
  description: Invalid leftovers that could not be dropped; the task fails when there is one.
  returned: always
  type: list
  elements: str
  sample: []
bytes_reclaimed:
  description: Size before minus size after, summed over the rebuilt indexes.
  returned: always
  type: int
  sample: 393216
sql:
  description: Every statement executed (or, in check mode, that would be), session settings first.
  returned: always
  type: list
  elements: str
  sample: ["SET lock_timeout = '5s'", "SET statement_timeout = '0'", "REINDEX INDEX CONCURRENTLY \"public\".\"orders_updated_idx\""]
server_version:
  description: The server's version number (C(server_version_num)).
  returned: always
  type: int
  sample: 170002
upkeep_results:
  description:
    - One entry per rebuilt index and per dropped leftover (check V(postgresql_reindex), target C(db/schema.index)),
      V(warning) when skipped, V(failed) on an error; or one V(ok) entry for the database when nothing was due.
  returned: always
  type: list
  elements: dict
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.upkeep.maintenance.plugins.module_utils._postgresql import (
    SCHEMA_ARGUMENT_SPEC,
    TIMEOUT_ARGUMENT_SPEC,
    attempt,
    bloat_estimates,
    postgresql_common_argument_spec,
    require_driver,
    resolve_relations,
    schema_filter,
    sql,
    with_session,
)
from ansible_collections.upkeep.maintenance.plugins.module_utils._results import result_entry
from ansible_collections.upkeep.maintenance.plugins.module_utils._units import human_bytes, plural

CONCURRENTLY_VERSION = 120000
# A leftover's DROP INDEX is tried this many times, this many seconds apart, each within lock_timeout.
DROP_ATTEMPTS = 3
DROP_PAUSE = 1.0

INDEXES = """
SELECT i.indexrelid AS oid, n.nspname AS schema, t.relname AS "table", c.relname AS name,
       pg_relation_size(i.indexrelid)::bigint AS size, i.indisvalid AS valid
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE {where}
ORDER BY pg_relation_size(i.indexrelid) DESC, n.nspname, c.relname
"""

# What REINDEX CONCURRENTLY leaves when it is interrupted: an invalid index named after the original.
LEFTOVER = "NOT i.indisvalid AND c.relname ~ '_cc(new|old)[0-9]*$'"


class Reindex(object):
    def __init__(self, module, session):
        self.module = module
        self.params = module.params
        self.session = session
        self.sql = []
        self.leftovers_dropped = []
        self.leftovers_remaining = []
        self.entries = []

    def indexes(self, where, params):
        return self.session.execute(sql.SQL(INDEXES).format(where=where), params)

    def scope(self):
        """A condition on the index rows: the listed indexes' tables, or the schemas of automatic selection."""
        if self.params["indexes"]:
            listed = resolve_relations(self.session, self.params["indexes"], ("i",), "indexes")
            return sql.SQL("i.indrelid IN (SELECT indrelid FROM pg_index WHERE indexrelid = ANY(%s))"), [
                [row["oid"] for row in listed]], listed
        where, params = schema_filter(self.params["schemas"], self.params["exclude_schemas"])
        return where, params, None

    def choose(self, where, params, listed):
        if listed is not None:
            wanted = [row["oid"] for row in listed]
            rows = dict((row["oid"], row) for row in self.indexes(where, params))
            return [dict(rows[oid], reason="listed") for oid in wanted if oid in rows]
        if self.params["every_index"]:
            # What REINDEX DATABASE rebuilds, the system catalogs aside, one index at a time and each reported.
            return [dict(row, reason="every index") for row in self.indexes(sql.SQL("{} AND i.indisvalid").format(where), params)]
        bloat = bloat_estimates(self.session, self.params["schemas"], self.params["exclude_schemas"],
                                min_size=self.params["min_bloat_bytes"])
        chosen = []
        for row in self.indexes(sql.SQL("{} AND i.indisvalid").format(where), params):
            estimate = bloat.get(row["oid"])
            if not estimate or estimate["ratio"] is None:
                continue
            if estimate["ratio"] >= self.params["min_bloat_ratio"] and estimate["wasted_bytes"] >= self.params["min_bloat_bytes"]:
                chosen.append(dict(row, reason="bloat %.1fx (%s wasted)" % (
                    estimate["ratio"], human_bytes(estimate["wasted_bytes"]))))
        return chosen

    def drop_leftovers(self, where, params):
        for row in self.indexes(sql.SQL("{} AND {}").format(where, sql.SQL(LEFTOVER)), params):
            statement = sql.SQL("DROP INDEX {}IF EXISTS {}").format(
                sql.SQL("CONCURRENTLY " if self.params["concurrently"] else ""), sql.Identifier(row["schema"], row["name"]))
            self.sql.append(self.session.render(statement))
            name = "%s.%s" % (row["schema"], row["name"])
            target = "%s/%s" % (self.params["db"], name)
            if self.module.check_mode:
                outcome, reason = "done", None
            else:
                outcome, reason = self.drop(statement)
            if outcome == "done":
                self.leftovers_dropped.append(name)
                self.entries.append(result_entry(
                    "postgresql_reindex", target, "changed",
                    "%sdropped %s, the invalid leftover of an interrupted REINDEX CONCURRENTLY" % (
                        "would have " if self.module.check_mode else "", name),
                    metrics=dict(size_bytes=row["size"]), details=dict(sql=self.sql[-1])))
            else:
                # Every write to the table still maintains the invalid index: not something to leave with a warning.
                self.leftovers_remaining.append(name)
                self.entries.append(result_entry(
                    "postgresql_reindex", target, "failed",
                    "the invalid leftover %s (%s) remains, still maintained on every write: it could not be dropped "
                    "after %d attempts: %s" % (name, human_bytes(row["size"]), DROP_ATTEMPTS, reason),
                    metrics=dict(size_bytes=row["size"]), details=dict(sql=self.sql[-1])))

    def drop(self, statement):
        """DROP INDEX, tried again while the application holds the table: a dropped leftover is the point."""
        for attempt_number in range(DROP_ATTEMPTS):
            outcome, reason, _seconds = attempt(self.session, statement)
            if outcome != "skipped":
                break
            if attempt_number + 1 < DROP_ATTEMPTS:
                time.sleep(DROP_PAUSE)
        return outcome, reason

    def rebuild(self, index):
        statement = sql.SQL("REINDEX INDEX {}{}").format(
            sql.SQL("CONCURRENTLY " if self.params["concurrently"] else ""), sql.Identifier(index["schema"], index["name"]))
        index.update(size_before=index["size"], size_after=index["size"], duration=0.0, skipped=False, skip_reason=None,
                     sql=self.session.render(statement))
        self.sql.append(index["sql"])
        target = "%s/%s.%s" % (self.params["db"], index["schema"], index["name"])
        if self.module.check_mode:
            index["outcome"] = "planned"
            self.entries.append(result_entry("postgresql_reindex", target, "changed", "would rebuild: %s" % index["reason"],
                                             metrics=dict(size_bytes=index["size"]), details=dict(sql=index["sql"])))
            return
        outcome, reason, seconds = attempt(self.session, statement)
        index.update(outcome=outcome, duration=round(seconds, 3), skipped=outcome == "skipped", skip_reason=reason)
        if outcome == "done":
            # A concurrent rebuild swaps in a new relation under the old name: look it up by name.
            index["size_after"] = self.session.scalar(
                "SELECT pg_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = %s AND c.relname = %s", (index["schema"], index["name"]))
            status, summary = "changed", "rebuilt in %.2f s: %s to %s (%s)" % (
                index["duration"], human_bytes(index["size_before"]), human_bytes(index["size_after"]), index["reason"])
        else:
            status = "warning" if outcome == "skipped" else "failed"
            summary = "rebuild %s: %s" % ("skipped" if outcome == "skipped" else "failed", reason)
        self.entries.append(result_entry(
            "postgresql_reindex", target, status, summary,
            metrics=dict(bytes_reclaimed=index["size_before"] - index["size_after"], size_bytes=index["size_after"],
                         duration_seconds=index["duration"]),
            details=dict(sql=index["sql"], reason=index["reason"])))

    def run(self):
        where, params, listed = self.scope()
        self.drop_leftovers(where, params)
        chosen = self.choose(where, params, listed)
        for index in chosen:
            self.rebuild(index)
            if index["outcome"] != "done" and self.params["concurrently"] and not self.module.check_mode:
                table = sql.SQL("i.indrelid = (SELECT indrelid FROM pg_index WHERE indexrelid = %s)")
                self.drop_leftovers(table, [index["oid"]])
        return chosen


def rebuild(module, session):
    if module.params["concurrently"] and session.version < CONCURRENTLY_VERSION:
        module.fail_json(msg="concurrently needs PostgreSQL 12 or newer (the server runs %d.%d); "
                             "set concurrently: false to rebuild with writes blocked"
                         % (session.version // 10000, session.version % 10000))
    reindex = Reindex(module, session)
    settings = session.set_timeouts(module.params["lock_timeout"], module.params["statement_timeout"])
    return reindex, settings, reindex.run()


def main():
    argument_spec = postgresql_common_argument_spec()
    argument_spec.update(TIMEOUT_ARGUMENT_SPEC)
    argument_spec.update(SCHEMA_ARGUMENT_SPEC)
    argument_spec.update(
        indexes=dict(type="list", elements="str", default=[]),
        min_bloat_ratio=dict(type="float", default=2.0),
        min_bloat_bytes=dict(type="int", default=8 * 1024 * 1024),
        concurrently=dict(type="bool", default=True),
        every_index=dict(type="bool", default=False),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=[("indexes", "schemas"), ("indexes", "exclude_schemas"), ("indexes", "every_index")],
        supports_check_mode=True)
    require_driver(module)

    reindex, settings, chosen = with_session(module, lambda session: rebuild(module, session))

    done = [index for index in chosen if index["outcome"] in ("done", "planned")]
    result = dict(
        changed=bool(done or reindex.leftovers_dropped),
        indexes=[dict((key, value) for key, value in index.items() if key not in ("oid", "outcome", "size", "valid"))
                 for index in chosen],
        leftovers_dropped=reindex.leftovers_dropped,
        leftovers_remaining=reindex.leftovers_remaining,
        bytes_reclaimed=sum(index["size_before"] - index["size_after"] for index in done),
        sql=settings + reindex.sql,
        server_version=reindex.session.version,
        upkeep_results=reindex.entries or [result_entry(
            "postgresql_reindex", module.params["db"], "ok", "nothing to rebuild: no index over the bloat thresholds")],
    )
    failed = [index for index in chosen if index["outcome"] == "failed"]
    if failed or reindex.leftovers_remaining:
        problems = ["REINDEX failed on %s" % "; ".join(
            "%s.%s: %s" % (index["schema"], index["name"], index["skip_reason"]) for index in failed)] if failed else []
        if reindex.leftovers_remaining:
            problems.append("invalid leftovers remain, still maintained on every write: %s" % ", ".join(
                reindex.leftovers_remaining))
        module.fail_json(msg="; ".join(problems), **result)
    module.exit_json(msg=("would rebuild %s and drop %s" if module.check_mode else "%s rebuilt, %s dropped") % (
        plural(len(done), "index", "indexes"), plural(len(reindex.leftovers_dropped), "leftover")), **result)


if __name__ == "__main__":
    main()
