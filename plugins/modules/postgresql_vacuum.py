#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: postgresql_vacuum
short_description: VACUUM and ANALYZE the PostgreSQL tables that need it, without blocking the application
version_added: 0.1.0
description:
  - Chooses the tables from the server's own statistics (dead tuples, their share of the table, time since the last
    vacuum, rows modified since the last ANALYZE) or takes the tables listed in O(tables), and runs
    C(VACUUM) with the options asked for on each, optionally on several connections at once (O(jobs)).
  - Never queues the application behind it. C(SKIP_LOCKED) skips a table whose lock another session holds, and the
    session's O(lock_timeout) and O(statement_timeout) give up on waits and long statements. Skipped tables are
    reported with the reason; the next run tries them again.
  - V(VACUUM FULL) rewrites a table under an exclusive lock, so it runs only on tables listed in O(tables) or, when
    chosen automatically, on tables whose estimated bloat is at least O(full_min_bloat_ratio).
  - Reports changed only when a statement ran; a second run finds nothing over the thresholds and reports no change.
    In check mode the plan is returned without running it.
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
      - Check mode reads the statistics and returns the tables that would be vacuumed, with the statements.
  diff_mode:
    support: none
options:
  tables:
    description:
      - Tables to vacuum, as C(schema.table) or C(table). When empty, tables are chosen from their statistics.
      - Cannot be combined with O(schemas) or O(exclude_schemas).
    type: list
    elements: str
    default: []
  min_dead_tuples:
    description:
      - Automatic selection vacuums a table with at least this many dead tuples that are also at least O(min_dead_ratio)
        of its tuples.
    type: int
    default: 1000
  min_dead_ratio:
    description:
      - Share of dead tuples among all tuples of a table (0.1 is 10 %) from which automatic selection vacuums it.
    type: float
    default: 0.1
  max_days_since_vacuum:
    description:
      - Automatic selection also vacuums tables not vacuumed (by hand or by autovacuum) for more days than this,
        and tables never vacuumed. Unset means age alone never selects a table.
    type: float
  min_modified_ratio:
    description:
      - With O(analyze), automatic selection also runs C(ANALYZE), without VACUUM, on tables whose rows modified since
        their last ANALYZE are at least this share of their live rows. Unset means only vacuumed tables are analyzed.
    type: float
  analyze:
    description:
      - Update the planner statistics of each vacuumed table (C(VACUUM ANALYZE)).
    type: bool
    default: true
  full:
    description:
      - Rewrite the tables (C(VACUUM FULL)), which returns their free space to the operating system but locks each
        table exclusively while it is copied. Use it in a maintenance window.
      - Applies to the tables in O(tables) or, with automatic selection, only to tables whose estimated bloat is at least
        O(full_min_bloat_ratio); other chosen tables get a plain VACUUM.
    type: bool
    default: false
  full_min_bloat_ratio:
    description:
      - With O(full) and automatic selection, the estimated bloat (size against the size the rows need, V(2.0) is twice)
        from which a table is rewritten. Required for O(full) without O(tables).
    type: float
  freeze:
    description:
      - Freeze every row (C(FREEZE)), which ends transaction-ID wraparound concerns for the table.
    type: bool
    default: false
  skip_locked:
    description:
      - Skip tables another session holds a conflicting lock on, instead of waiting (C(SKIP_LOCKED), PostgreSQL 12 and newer).
    type: bool
    default: true
  index_cleanup:
    description:
      - C(INDEX_CLEANUP) of VACUUM. V(auto) leaves the choice to the server; V(off) skips index vacuuming
        to finish quickly in an emergency (PostgreSQL 12 and newer).
    type: str
    choices: [auto, 'on', 'off']
    default: auto
  parallel:
    description:
      - Workers for vacuuming the indexes of one table (C(PARALLEL), PostgreSQL 13 and newer); V(0) disables it.
        Unset leaves the choice to the server. Not with O(full).
    type: int
  buffer_usage_limit:
    description:
      - Size of the shared-buffer ring VACUUM and ANALYZE use (C(BUFFER_USAGE_LIMIT), PostgreSQL 16 and newer), for
        example V(256kB) to stay gentle on the cache or V(2GB) to go fast.
    type: str
  jobs:
    description:
      - Tables vacuumed at once, each on its own connection, like C(vacuumdb --jobs). The largest tables start first.
      - Extra connections come only out of half of the connections the server has free for ordinary roles, so that
        the application keeps the rest; RV(jobs) says how many were used.
    type: int
    default: 1
seealso:
  - module: upkeep.maintenance.postgresql_maintenance_info
  - module: upkeep.maintenance.postgresql_reindex
  - name: VACUUM
    description: The statement and its options.
    link: https://www.postgresql.org/docs/current/sql-vacuum.html
"""

EXAMPLES = r"""
- name: Daily - vacuum and analyze the tables with many dead tuples
  upkeep.maintenance.postgresql_vacuum:
    db: app
    login_unix_socket: /var/run/postgresql
  become: true
  become_user: postgres

- name: Weekly - also analyze tables changed by a tenth, and vacuum anything untouched for a week, two at a time
  upkeep.maintenance.postgresql_vacuum:
    db: app
    login_host: db.internal
    login_user: maintenance
    login_password: "{{ vault_maintenance_password }}"
    min_modified_ratio: 0.1
    max_days_since_vacuum: 7
    jobs: 2
    exclude_schemas: [audit]

- name: Monthly, in the window - rewrite two listed tables, waiting at most 30 s for their locks
  upkeep.maintenance.postgresql_vacuum:
    db: app
    tables: [public.events, public.sessions]
    full: true
    skip_locked: false
    lock_timeout: 30s
  register: vacuum

- name: Say what was done
  ansible.builtin.debug:
    msg: "{{ item.schema }}.{{ item.name }}: {{ item.action }}, dead tuples {{ item.dead_tuples_before }} to {{ item.dead_tuples_after }}"
  loop: "{{ vacuum.tables }}"
"""

RETURN = r"""
tables:
  description: The tables chosen, in the order they were started, with what happened to each.
  returned: always
  type: list
  elements: dict
  contains:
    schema:
      description: Schema of the table.
      type: str
    name:
      description: Name of the table.
      type: str
    action:
      description: V(vacuum), V(vacuum analyze), V(vacuum full), V(vacuum full analyze) or V(analyze).
      type: str
    reason:
      description: Why the table was chosen.
      type: str
    dead_tuples_before:
      description: Dead tuples in the statistics before.
      type: int
    dead_tuples_after:
      description: Dead tuples in the statistics after (the same as before in check mode and when skipped).
        Tuples still visible to an open transaction cannot be removed and remain.
      type: int
    size_before:
      description: Bytes of the table (with TOAST, without indexes) before.
      type: int
    size_after:
      description: Bytes after.
      type: int
    duration:
      description: Seconds the statement took.
      type: float
    skipped:
      description: Whether the table was left alone because of a lock or a timeout.
      type: bool
    skip_reason:
      description: The server's reason for a skip, or the error of a failed statement.
      type: str
    sql:
      description: The statement.
      type: str
  sample:
    - schema: public
      name: orders
      action: vacuum analyze
      reason: 180000 dead tuples (90 %)
      dead_tuples_before: 180000
      dead_tuples_after: 0
      size_before: 25554944
      size_after: 25554944
      duration: 0.41
      skipped: false
      skip_reason: null
      sql: VACUUM (ANALYZE, SKIP_LOCKED) "public"."orders"
sql:
  description: Every statement executed (or, in check mode, that would be), session settings first.
  returned: always
  type: list
  elements: str
  sample: ["SET lock_timeout = '5s'", "SET statement_timeout = '0'", "VACUUM (ANALYZE, SKIP_LOCKED) \"public\".\"orders\""]
jobs:
  description: Connections used to vacuum (0 in check mode and when nothing was due).
  returned: always
  type: int
  sample: 2
server_version:
  description: The server's version number (C(server_version_num)).
  returned: always
  type: int
  sample: 150018
dead_tuples_removed:
  description: Dead tuples before minus after, summed over the tables.
  returned: always
  type: int
  sample: 180000
duration:
  description: Seconds the module spent.
  returned: always
  type: float
  sample: 0.52
upkeep_results:
  description:
    - One entry per chosen table (check V(postgresql_vacuum), target C(db/schema.table)), status V(changed),
      V(warning) when skipped, V(failed) on an error; or one V(ok) entry for the database when nothing was due.
  returned: always
  type: list
  elements: dict
  sample:
    - check: postgresql_vacuum
      target: app/public.orders
      status: changed
      summary: "VACUUM ANALYZE: dead tuples 180000 to 0 in 0.41 s"
      metrics: {"dead_tuples_before": 180000, "dead_tuples_after": 0, "duration_seconds": 0.41}
      details: {"action": "vacuum analyze", "sql": "VACUUM (ANALYZE, SKIP_LOCKED) \"public\".\"orders\""}
      timestamp: "2026-11-23T03:00:00Z"
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.upkeep.maintenance.plugins.module_utils._postgresql import (
    SCHEMA_ARGUMENT_SPEC,
    TIMEOUT_ARGUMENT_SPEC,
    PostgreSQLMaintenanceError,
    attempt,
    bloat_estimates,
    connect,
    free_connections,
    postgresql_common_argument_spec,
    require_driver,
    resolve_relations,
    run_concurrently,
    sql,
    table_statistics,
    with_session,
)
from ansible_collections.upkeep.maintenance.plugins.module_utils._results import result_entry

# Server versions (server_version_num) that introduced each option.
OPTION_VERSIONS = dict(skip_locked=120000, index_cleanup=120000, parallel=130000, buffer_usage_limit=160000)


def unsupported_options(params, version):
    asked = dict(
        skip_locked=params["skip_locked"],
        index_cleanup=params["index_cleanup"] != "auto",
        parallel=params["parallel"] is not None,
        buffer_usage_limit=params["buffer_usage_limit"] is not None,
    )
    return ["%s needs PostgreSQL %d or newer (the server runs %d.%d)" % (
        option, OPTION_VERSIONS[option] // 10000, version // 10000, version % 10000)
        for option, used in asked.items() if used and version < OPTION_VERSIONS[option]]


def check_options(module):
    """Conflicts that need no server, refused before connecting."""
    params = module.params
    if params["jobs"] < 1:
        module.fail_json(msg="jobs must be 1 or more")
    if params["parallel"] is not None and params["parallel"] < 0:
        module.fail_json(msg="parallel must be 0 (no parallel workers) or more")
    if not 0 <= params["min_dead_ratio"] <= 1:
        module.fail_json(msg="min_dead_ratio is a share between 0 and 1")
    if params["full"] and params["parallel"]:
        module.fail_json(msg="parallel cannot be combined with full: VACUUM FULL copies a table in one process")
    if params["full"] and not params["tables"] and params["full_min_bloat_ratio"] is None:
        module.fail_json(msg="full rewrites tables under an exclusive lock: list them in tables, "
                             "or set full_min_bloat_ratio to rewrite only tables bloated that much")


class Vacuum(object):
    def __init__(self, module, session):
        self.module = module
        self.params = module.params
        self.session = session
        self.db = self.params["db"]

    def choose(self):
        """The tables to work on, each with its action and the reason, largest first."""
        params = self.params
        if params["tables"]:
            wanted = resolve_relations(self.session, params["tables"], ("r", "m", "p"), "tables")
            statistics = dict((row["oid"], row) for row in table_statistics(self.session))
            chosen = [dict(statistics.get(row["oid"], dict(row, dead_tuples=0, size=0)),
                           full=params["full"], vacuum=True, reason="listed") for row in wanted]
        else:
            chosen = self.select_by_statistics()
        chosen.sort(key=lambda table: -table["size"])
        return [self.plan(table) for table in chosen]

    def select_by_statistics(self):
        params = self.params
        rows = table_statistics(self.session, params["schemas"], params["exclude_schemas"])
        bloat = {}
        if params["full"]:
            bloat = bloat_estimates(self.session, params["schemas"], params["exclude_schemas"])
        chosen = []
        for row in rows:
            reasons = []
            if row["dead_tuples"] >= params["min_dead_tuples"] and row["dead_ratio"] >= params["min_dead_ratio"]:
                reasons.append("%d dead tuples (%d %%)" % (row["dead_tuples"], round(row["dead_ratio"] * 100)))
            limit = params["max_days_since_vacuum"]
            if limit is not None and (row["vacuum_age"] is None or row["vacuum_age"] > limit * 86400):
                reasons.append("never vacuumed" if row["vacuum_age"] is None
                               else "not vacuumed for %.1f days" % (row["vacuum_age"] / 86400))
            ratio = bloat.get(row["oid"], {}).get("ratio")
            full = ratio is not None and ratio >= (params["full_min_bloat_ratio"] or float("inf"))
            if full:
                reasons.append("bloat %.1fx" % ratio)
            if reasons:
                chosen.append(dict(row, full=full, vacuum=True, reason="; ".join(reasons)))
            elif params["analyze"] and params["min_modified_ratio"] is not None and row["modified_since_analyze"] > 0 \
                    and row["modified_since_analyze"] >= params["min_modified_ratio"] * row["live_tuples"]:
                chosen.append(dict(row, full=False, vacuum=False,
                                   reason="%d rows modified since the last ANALYZE" % row["modified_since_analyze"]))
        return chosen

    def statement(self, table):
        """VACUUM (or ANALYZE alone) with the options asked for; the table name is quoted by the driver."""
        params = self.params
        rewrite = table["vacuum"] and table["full"]
        flags = [
            ("FULL", rewrite),
            ("FREEZE", table["vacuum"] and params["freeze"]),
            ("ANALYZE", table["vacuum"] and params["analyze"]),
            ("SKIP_LOCKED", params["skip_locked"]),
            ("INDEX_CLEANUP " + params["index_cleanup"].upper(),
             table["vacuum"] and not rewrite and params["index_cleanup"] != "auto"),
        ]
        options = [sql.SQL(flag) for flag, wanted in flags if wanted]
        if table["vacuum"] and not rewrite and params["parallel"] is not None:
            options.append(sql.SQL("PARALLEL {}").format(sql.Literal(params["parallel"])))
        if not rewrite and params["buffer_usage_limit"] is not None:
            options.append(sql.SQL("BUFFER_USAGE_LIMIT {}").format(sql.Literal(params["buffer_usage_limit"])))
        command = sql.SQL("VACUUM" if table["vacuum"] else "ANALYZE")
        if options:
            command = sql.SQL("{} ({})").format(command, sql.SQL(", ").join(options))
        return sql.SQL("{} {}").format(command, sql.Identifier(table["schema"], table["name"]))

    def plan(self, table):
        words = (["vacuum", "full"] if table["full"] else ["vacuum"]) if table["vacuum"] else []
        if self.params["analyze"]:
            words.append("analyze")
        return dict(
            oid=table["oid"], relkind=table.get("relkind", "r"), schema=table["schema"], name=table["name"],
            action=" ".join(words), reason=table["reason"],
            dead_tuples_before=table["dead_tuples"], dead_tuples_after=table["dead_tuples"],
            size_before=table["size"], size_after=table["size"], duration=0.0, skipped=False, skip_reason=None,
            sql=self.session.render(self.statement(table)), statement=self.statement(table), outcome="planned")

    @staticmethod
    def evidence(table):
        """What the statement changes when the server does the work: the file node of a table VACUUM FULL rewrites,
        else its vacuum or analyze counter (a partitioned table has neither: its partitions do the work)."""
        if table["relkind"] == "p":
            return None
        if "full" in table["action"]:
            query = "SELECT relfilenode FROM pg_class WHERE oid = %s"
        elif table["action"].startswith("vacuum"):
            query = "SELECT pg_stat_get_vacuum_count(%s)"
        else:
            query = "SELECT pg_stat_get_analyze_count(%s)"
        return lambda session: session.scalar(query, (table["oid"],))

    def run(self, session, table):
        outcome, reason, seconds = attempt(session, table["statement"], self.evidence(table))
        table.update(outcome=outcome, duration=round(seconds, 3), skipped=outcome == "skipped", skip_reason=reason)
        if outcome == "done":
            after = session.execute(
                "SELECT n_dead_tup::bigint AS dead, pg_table_size(relid)::bigint AS size FROM pg_stat_user_tables"
                " WHERE relid = %s", (table["oid"],))
            if after:
                table.update(dead_tuples_after=after[0]["dead"], size_after=after[0]["size"])


def entry(db, table, check_mode):
    target = "%s/%s.%s" % (db, table["schema"], table["name"])
    metrics = dict(dead_tuples_before=table["dead_tuples_before"], dead_tuples_after=table["dead_tuples_after"],
                   bytes_reclaimed=table["size_before"] - table["size_after"], size_bytes=table["size_after"],
                   duration_seconds=table["duration"])
    details = dict(action=table["action"], reason=table["reason"], sql=table["sql"], check_mode=check_mode)
    action = table["action"].upper()
    if table["outcome"] == "planned":
        status, summary = "changed", "would %s: %s" % (action, table["reason"])
    elif table["outcome"] == "skipped":
        status, summary = "warning", "%s skipped: %s" % (action, table["skip_reason"])
    elif table["outcome"] == "failed":
        status, summary = "failed", "%s failed: %s" % (action, table["skip_reason"])
    elif table["action"] == "analyze":
        status, summary = "changed", "ANALYZE in %.2f s: %s" % (table["duration"], table["reason"])
    else:
        status, summary = "changed", "%s: dead tuples %d to %d in %.2f s" % (
            action, table["dead_tuples_before"], table["dead_tuples_after"], table["duration"])
    return result_entry("postgresql_vacuum", target, status, summary, metrics=metrics, details=details)


def vacuum_database(module, session):
    """The plan, and its execution over up to ``jobs`` connections (this one and more)."""
    unsupported = unsupported_options(module.params, session.version)
    if unsupported:
        module.fail_json(msg="; ".join(unsupported))
    vacuum = Vacuum(module, session)
    plan = vacuum.choose()
    executed = session.set_timeouts(module.params["lock_timeout"], module.params["statement_timeout"])
    if not plan or module.check_mode:
        return session.version, plan, executed, 0
    sessions = [session]
    try:
        for _index in range(jobs_allowed(module.params["jobs"], len(plan), free_connections(session)) - 1):
            try:
                sessions.append(connect(module.params))
            except PostgreSQLMaintenanceError:
                break  # the application took the slot meanwhile: work with the sessions there are
            sessions[-1].set_timeouts(module.params["lock_timeout"], module.params["statement_timeout"])
        run_concurrently(sessions, plan, vacuum.run)
    finally:
        for extra in sessions[1:]:
            extra.close()
    return session.version, plan, executed, len(sessions)


def jobs_allowed(jobs, tables, free):
    """Connections to vacuum with: as many as asked and as there are tables, but extra ones only from half of the
    connections the server has free, so that the application keeps the other half."""
    return max(1, min(jobs, tables, 1 + max(0, free) // 2))


def main():
    argument_spec = postgresql_common_argument_spec()
    argument_spec.update(TIMEOUT_ARGUMENT_SPEC)
    argument_spec.update(SCHEMA_ARGUMENT_SPEC)
    argument_spec.update(
        tables=dict(type="list", elements="str", default=[]),
        min_dead_tuples=dict(type="int", default=1000),
        min_dead_ratio=dict(type="float", default=0.1),
        max_days_since_vacuum=dict(type="float"),
        min_modified_ratio=dict(type="float"),
        analyze=dict(type="bool", default=True),
        full=dict(type="bool", default=False),
        full_min_bloat_ratio=dict(type="float"),
        freeze=dict(type="bool", default=False),
        skip_locked=dict(type="bool", default=True),
        index_cleanup=dict(type="str", default="auto", choices=["auto", "on", "off"]),
        parallel=dict(type="int"),
        buffer_usage_limit=dict(type="str"),
        jobs=dict(type="int", default=1),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=[("tables", "schemas"), ("tables", "exclude_schemas")],
        supports_check_mode=True)
    check_options(module)
    require_driver(module)

    started = time.monotonic()
    version, plan, executed, jobs = with_session(module, lambda session: vacuum_database(module, session))

    for table in plan:
        del table["statement"]
    db = module.params["db"]
    entries = [entry(db, table, module.check_mode) for table in plan] or [result_entry(
        "postgresql_vacuum", db, "ok", "nothing to vacuum: no table over the thresholds")]
    done = [table for table in plan if table["outcome"] in ("done", "planned")]
    result = dict(
        changed=bool(done),
        tables=[dict((key, value) for key, value in table.items() if key not in ("oid", "outcome")) for table in plan],
        sql=executed + [table["sql"] for table in plan],
        server_version=version,
        jobs=jobs,
        dead_tuples_removed=sum(table["dead_tuples_before"] - table["dead_tuples_after"] for table in done),
        duration=round(time.monotonic() - started, 3),
        upkeep_results=entries,
    )
    failed = [table for table in plan if table["outcome"] == "failed"]
    if failed:
        module.fail_json(msg="VACUUM failed on %s" % "; ".join(
            "%s.%s: %s" % (table["schema"], table["name"], table["skip_reason"]) for table in failed), **result)
    summary = "%d tables vacuumed or analyzed, %d skipped" % (
        len(done), len(plan) - len(done)) if plan else entries[0]["summary"]
    module.exit_json(msg=summary, **result)


if __name__ == "__main__":
    main()
