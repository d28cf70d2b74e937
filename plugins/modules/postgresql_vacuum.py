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
  - Rewriting a table (O(full)) runs only on tables listed in O(tables) or, when chosen automatically, on tables
    whose estimated bloat is at least O(full_min_bloat_ratio). C(VACUUM FULL) holds an exclusive lock for the whole
    copy, and every query of the application on that table waits for it to end; O(full_max_size) bounds that wait
    by the size of the tables it may rewrite. Where pg_repack is installed (Debian C(postgresql-NN-repack) and
    C(CREATE EXTENSION pg_repack)), tables with a primary key are rewritten online with it instead, which locks them
    only for a moment at its start and end, giving up rather than waiting longer than O(lock_timeout) or stopping
    the application's sessions (O(full_method)).
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
  full_max_size:
    description:
      - The largest table C(VACUUM FULL) may rewrite (V(100M), V(2G)); a larger one is skipped with a V(warning) that
        says why, unless pg_repack rewrites it. At some hundreds of MiB a second, this is roughly how long the
        application's queries on the table may wait.
    type: str
    default: 100M
  full_method:
    description:
      - How a table is rewritten. V(auto) uses pg_repack where it can (the extension in the database, the
        C(pg_repack) program, a primary key or a unique index on columns that are not null) and C(VACUUM FULL) within
        O(full_max_size) elsewhere; V(vacuum_full) never uses pg_repack; V(pg_repack) fails the task when pg_repack
        is not installed, and skips tables it cannot rewrite.
    type: str
    choices: [auto, vacuum_full, pg_repack]
    default: auto
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

- name: Monthly - rewrite two listed tables, online with pg_repack where installed, else by VACUUM FULL up to 200 MiB
  upkeep.maintenance.postgresql_vacuum:
    db: app
    tables: [public.events, public.sessions]
    full: true
    full_max_size: 200M
    lock_timeout: 2s
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
    method:
      description: How a rewrite is done - V(vacuum_full), V(pg_repack), or V(refused) (over O(full_max_size) with no
        pg_repack to do it online); null for a plain VACUUM or ANALYZE.
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
      description: The statement, or the C(pg_repack) command line.
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

import re
import shlex
import subprocess
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.upkeep.maintenance.plugins.module_utils._files import FormatError
from ansible_collections.upkeep.maintenance.plugins.module_utils._pgclient import pg_command

from ansible_collections.upkeep.maintenance.plugins.module_utils._postgresql import (
    SCHEMA_ARGUMENT_SPEC,
    TIMEOUT_ARGUMENT_SPEC,
    PostgreSQLMaintenanceError,
    attempt,
    bloat_estimates,
    connect,
    free_connections,
    libpq_environment,
    postgresql_common_argument_spec,
    require_driver,
    resolve_relations,
    run_concurrently,
    sql,
    table_statistics,
    with_session,
)
from ansible_collections.upkeep.maintenance.plugins.module_utils._results import result_entry
from ansible_collections.upkeep.maintenance.plugins.module_utils._units import human_bytes, parse_size

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
    try:
        params["full_max_size"] = parse_size(params["full_max_size"])
    except ValueError as error:
        module.fail_json(msg="full_max_size: %s" % error)
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


# Tables pg_repack can rewrite: a primary key, or a valid unique index without expressions or a predicate on columns
# that are all NOT NULL.
REPACKABLE = """
SELECT EXISTS (
  SELECT 1 FROM pg_index i
  WHERE i.indrelid = %s AND i.indisvalid
    AND (i.indisprimary OR (i.indisunique AND i.indexprs IS NULL AND i.indpred IS NULL
         AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
                                                         AND NOT a.attnotnull))))
"""


class Vacuum(object):
    def __init__(self, module, session):
        self.module = module
        self.params = module.params
        self.session = session
        self.db = self.params["db"]
        self.repack = self.find_pg_repack() if self.params["full"] else None

    def find_pg_repack(self):
        """The pg_repack program when it can rewrite tables of this database (its extension is there), else None;
        full_method pg_repack fails the task without it."""
        if self.params["full_method"] == "vacuum_full":
            return None
        extension = self.session.scalar("SELECT count(*) FROM pg_extension WHERE extname = 'pg_repack'")
        try:
            program = pg_command("pg_repack")
        except FormatError:
            program = None
        if extension and program:
            return program
        if self.params["full_method"] == "pg_repack":
            self.module.fail_json(msg="full_method pg_repack: %s" % (
                "CREATE EXTENSION pg_repack in database %s" % self.db if program else
                "the pg_repack program is not installed (Debian and Ubuntu: apt install postgresql-NN-repack, NN the "
                "server's major version, then CREATE EXTENSION pg_repack in database %s)" % self.db))
        return None

    def rewrite_method(self, table):
        """pg_repack, vacuum_full, or refused (too large to hold the table locked for the whole copy)."""
        if self.repack and self.session.scalar(REPACKABLE, (table["oid"],)):
            return "pg_repack"
        if self.params["full_method"] == "pg_repack":
            return "refused"
        return "vacuum_full" if table["size"] <= self.params["full_max_size"] else "refused"

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
        method = self.rewrite_method(table) if table["vacuum"] and table["full"] else None
        statement = self.repack_command(table) if method == "pg_repack" else self.statement(table)
        refused = None
        if method == "refused":
            refused = ("pg_repack needs a primary key, or a unique index on columns that are not null"
                       if self.params["full_method"] == "pg_repack" else
                       "%s is larger than full_max_size (%s): VACUUM FULL would lock it for the whole copy; install "
                       "pg_repack to rewrite it online, or raise full_max_size for a window the application can wait "
                       "through" % (human_bytes(table["size"]), human_bytes(self.params["full_max_size"])))
        return dict(
            oid=table["oid"], relkind=table.get("relkind", "r"), schema=table["schema"], name=table["name"],
            action=" ".join(words), reason=table["reason"],
            dead_tuples_before=table["dead_tuples"], dead_tuples_after=table["dead_tuples"],
            size_before=table["size"], size_after=table["size"], duration=0.0, skipped=bool(refused),
            skip_reason=refused, method=method, sql=statement if method == "pg_repack" else self.session.render(statement),
            statement=statement, outcome="skipped" if refused else "planned")

    def repack_command(self, table):
        """pg_repack of one table: it waits at most lock_timeout for its short locks and then gives up, never
        cancelling the application's sessions (--no-kill-backend)."""
        wait = max(1, int(round(parse_duration_setting(self.params["lock_timeout"]))))
        return " ".join([self.repack, "--no-order", "--no-kill-backend", "--wait-timeout=%d" % wait,
                         "--dbname=%s" % shlex.quote(self.db),
                         "--table=%s" % shlex.quote(self.session.render(sql.Identifier(table["schema"], table["name"])))])

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
        if table["method"] == "refused":
            return
        if table["method"] == "pg_repack":
            outcome, reason, seconds = self.run_repack(table)
        else:
            outcome, reason, seconds = attempt(session, table["statement"], self.evidence(table))
        table.update(outcome=outcome, duration=round(seconds, 3), skipped=outcome == "skipped", skip_reason=reason)
        if outcome == "done":
            after = session.execute(
                "SELECT n_dead_tup::bigint AS dead, pg_table_size(relid)::bigint AS size FROM pg_stat_user_tables"
                " WHERE relid = %s", (table["oid"],))
            if after:
                table.update(dead_tuples_after=after[0]["dead"], size_after=after[0]["size"])

    def run_repack(self, table):
        started = time.monotonic()
        process = subprocess.run(shlex.split(table["statement"]), capture_output=True, text=True,
                                 env=libpq_environment(self.params), check=False)
        seconds = time.monotonic() - started
        if process.returncode == 0:
            return "done", None, seconds
        lines = [line.strip() for line in (process.stderr + process.stdout).splitlines() if line.strip()]
        message = lines[-1] if lines else "pg_repack exit code %d" % process.returncode
        if any("timed out" in line or "lock" in line.lower() for line in lines):
            return "skipped", "pg_repack gave up waiting for its lock: %s" % message, seconds
        return "failed", "pg_repack: %s" % message, seconds


def parse_duration_setting(value):
    """Seconds of a PostgreSQL duration setting such as 5s, 300ms, 2min or 0."""
    match = re.match(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|min|h|d)?\s*$", str(value))
    if not match:
        return 5.0
    return float(match.group(1)) * dict(ms=0.001, s=1, min=60, h=3600, d=86400)[match.group(2) or "ms"]


def entry(db, table, check_mode):
    target = "%s/%s.%s" % (db, table["schema"], table["name"])
    metrics = dict(dead_tuples_before=table["dead_tuples_before"], dead_tuples_after=table["dead_tuples_after"],
                   bytes_reclaimed=table["size_before"] - table["size_after"], size_bytes=table["size_after"],
                   duration_seconds=table["duration"])
    details = dict(action=table["action"], method=table["method"], reason=table["reason"], sql=table["sql"],
                   check_mode=check_mode)
    action = table["action"].upper()
    if table["outcome"] == "planned":
        status, summary = "changed", "would %s: %s" % (
            "rewrite it online with pg_repack" if table["method"] == "pg_repack" else action, table["reason"])
    elif table["outcome"] == "skipped":
        status, summary = "warning", "%s skipped: %s" % (action, table["skip_reason"])
    elif table["outcome"] == "failed":
        status, summary = "failed", "%s failed: %s" % (action, table["skip_reason"])
    elif table["action"] == "analyze":
        status, summary = "changed", "ANALYZE in %.2f s: %s" % (table["duration"], table["reason"])
    elif table["method"] == "pg_repack":
        status, summary = "changed", "rewritten online with pg_repack in %.2f s: %s to %s, dead tuples %d to %d" % (
            table["duration"], human_bytes(table["size_before"]), human_bytes(table["size_after"]),
            table["dead_tuples_before"], table["dead_tuples_after"])
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
        full_max_size=dict(type="str", default="100M"),
        full_method=dict(type="str", default="auto", choices=["auto", "vacuum_full", "pg_repack"]),
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
