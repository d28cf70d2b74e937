#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: postgresql_maintenance_info
short_description: Health report of a PostgreSQL database - dead tuples, bloat, unused indexes, sessions, wraparound, archiving, replication
version_added: 0.1.0
description:
  - Reads the server's statistics and catalogs, in a read-only session, and returns what a maintenance runbook checks,
    with findings of V(warning) or V(critical) severity from thresholds that can be set.
  - Per table of the database, dead tuples and their share, the time since the last (auto)vacuum and (auto)analyze,
    and estimated bloat of tables and B-tree indexes. Bloat is estimated from the catalog's statistics the way
    C(check_postgres) does, which needs the tables to have been analyzed; a relation the statistics say nothing of (of
    at least O(bloat_min_bytes)) is measured with the C(pgstattuple) extension where it is installed in the database.
  - Unused indexes (never scanned since the statistics were reset, not unique, not backing a constraint).
  - Server-wide, long-running queries and sessions idle in a transaction, connections against C(max_connections),
    transaction-ID age of every database against C(autovacuum_freeze_max_age), database sizes, WAL archiving failures,
    replication slots and the lag of standbys.
  - Query texts are returned with their string literals replaced by C('?'), so that no value (a password in an
    C(ALTER ROLE), say) reaches the logs.
author:
  - upkeep.maintenance contributors (@upkeep)
extends_documentation_fragment:
  - upkeep.maintenance.postgresql
  - upkeep.maintenance.postgresql.SCHEMAS
  - upkeep.maintenance.attributes
  - upkeep.maintenance.attributes.INFO_MODULE
  - upkeep.maintenance.attributes.PLATFORM
options:
  bloat_ratio:
    description:
      - A table or index whose size is at least this many times the size its rows need is a V(warning) finding.
    type: float
    default: 2.0
  bloat_min_bytes:
    description:
      - Bloat wasting fewer bytes than this is not a finding, so that small tables do not raise alarms.
    type: int
    default: 8388608
  unused_index_min_bytes:
    description:
      - An unused index of at least this size is a V(warning) finding; smaller ones are listed only.
    type: int
    default: 1048576
  long_query_seconds:
    description:
      - A query running longer than this is a V(warning) finding.
    type: float
    default: 1.0
  idle_in_transaction_seconds:
    description:
      - A session idle inside an open transaction for longer than this is a V(warning) finding, since it holds locks
        and keeps VACUUM from removing dead tuples.
    type: float
    default: 60
  lock_timeout:
    description:
      - How long the report waits for a lock on a table it reads (a session holding an exclusive lock, such as a
        migration or VACUUM FULL, makes it wait) before it fails with a message, rather than hang.
    type: str
    default: 10s
  lock_wait_seconds:
    description:
      - A session waiting longer than this for a lock another session holds is a V(warning) finding
        C(postgresql_lock_wait), naming the sessions that block it.
    type: float
    default: 5
  connections_warning:
    description:
      - Share of C(max_connections) in use from which a V(warning) finding is raised.
    type: float
    default: 0.8
  connections_critical:
    description:
      - Share of C(max_connections) in use from which a V(critical) finding is raised.
    type: float
    default: 0.95
  wraparound_warning:
    description:
      - Transaction-ID age of a database, as a share of C(autovacuum_freeze_max_age), from which a V(warning) finding is raised.
    type: float
    default: 0.5
  wraparound_critical:
    description:
      - The share from which a V(critical) finding is raised.
    type: float
    default: 0.75
  replication_lag_seconds:
    description:
      - A standby replaying more than this many seconds behind is a V(warning) finding.
    type: float
    default: 60
  slot_retained_bytes:
    description:
      - An inactive replication slot holding back at least this much WAL is a V(warning) finding.
    type: int
    default: 1073741824
  fail_on:
    description:
      - Fail the task when a finding of this severity or worse exists. V(never) only reports.
    type: str
    choices: [critical, warning, never]
    default: never
seealso:
  - module: upkeep.maintenance.postgresql_vacuum
  - module: upkeep.maintenance.postgresql_reindex
  - name: The cumulative statistics system
    description: Where the dead tuples, vacuum times and index scans come from.
    link: https://www.postgresql.org/docs/current/monitoring-stats.html
"""

EXAMPLES = r"""
- name: Daily health report of the application database
  upkeep.maintenance.postgresql_maintenance_info:
    db: app
    login_unix_socket: /var/run/postgresql
  become: true
  become_user: postgres
  register: health

- name: Show the findings
  ansible.builtin.debug:
    msg: "{{ health.findings | map(attribute='summary') }}"

- name: Fail the run on anything critical, alerting on bloat from 3x
  upkeep.maintenance.postgresql_maintenance_info:
    db: app
    login_host: db.internal
    login_user: monitor
    login_password: "{{ vault_monitor_password }}"
    bloat_ratio: 3
    fail_on: critical
"""

RETURN = r"""
server_version:
  description: The server's version number (C(server_version_num)).
  returned: always
  type: int
  sample: 150018
in_recovery:
  description: Whether the server is a standby.
  returned: always
  type: bool
  sample: false
tables:
  description: The tables of the database, with their vacuum statistics and bloat.
  returned: always
  type: list
  elements: dict
  sample:
    - schema: public
      name: orders
      live_tuples: 2000
      dead_tuples: 18000
      dead_ratio: 0.9
      modified_since_analyze: 18000
      last_vacuum_age: null
      last_autovacuum_age: 86400.5
      last_analyze_age: 3600.2
      last_autoanalyze_age: null
      size: 2555904
      bloat_ratio: 9.9
      wasted_bytes: 2269184
      bloat_method: estimate
indexes:
  description: The B-tree and other indexes of the database with scans, size and bloat.
  returned: always
  type: list
  elements: dict
  sample:
    - schema: public
      table: orders
      name: orders_updated_idx
      size: 458752
      scans: 0
      unique: false
      constraint: false
      valid: true
      bloat_ratio: 3.9
      wasted_bytes: 163840
      bloat_method: estimate
unused_indexes:
  description: Indexes never scanned since the statistics were reset that are not unique and back no constraint.
  returned: always
  type: list
  elements: dict
  sample: [{"schema": "public", "table": "orders", "name": "orders_updated_idx", "size": 458752}]
statistics_reset_age:
  description: Seconds since the statistics of the database were reset (the window of the index scan counts), or null.
  returned: always
  type: float
  sample: 2592000.0
lock_waits:
  description: Queries waiting for a lock over O(lock_wait_seconds), server-wide, each with C(pid), C(user),
    C(database), C(query) (literals redacted), C(seconds) and C(blocked_by), the pids holding the lock.
  returned: always
  type: list
  elements: dict
sessions:
  description: Long-running queries and sessions idle in a transaction over the thresholds, server-wide.
  returned: always
  type: list
  elements: dict
  sample:
    - pid: 4242
      user: app
      database: app
      state: idle in transaction
      seconds: 312.4
      query: "UPDATE orders SET note = '?' WHERE id = 7"
connections:
  description: Client connections in use, C(max_connections) and their ratio, and the count per state.
  returned: always
  type: dict
  sample: {"used": 12, "max": 100, "ratio": 0.12, "states": {"active": 1, "idle": 11}}
wraparound:
  description: Transaction-ID age of each database against C(autovacuum_freeze_max_age).
  returned: always
  type: list
  elements: dict
  sample: [{"database": "app", "age": 1000000, "freeze_max_age": 200000000, "ratio": 0.005}]
databases:
  description: Size in bytes of every database on the server.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "app", "size": 104857600}]
archiver:
  description: WAL archiving counters from C(pg_stat_archiver), with whether the last attempt failed.
  returned: always
  type: dict
  sample: {"mode": "on", "archived_count": 120, "failed_count": 0, "failing": false, "last_archived_age": 30.0, "last_failed_age": null}
replication:
  description: Replication slots with the WAL they retain, and connected standbys with their replay lag.
  returned: always
  type: dict
  sample:
    slots: [{"name": "standby1", "type": "physical", "active": true, "retained_bytes": 16777216}]
    standbys: [{"name": "walreceiver", "client": "10.0.0.2", "state": "streaming", "replay_lag_seconds": 0.2}]
findings:
  description: What needs attention, as entries of the results contract with status V(warning) or V(critical).
  returned: always
  type: list
  elements: dict
  sample:
    - check: postgresql_bloat
      target: app/public.orders
      status: warning
      summary: table public.orders is 9.9x the size its rows need (2.2 MiB wasted)
      metrics: {"bloat_ratio": 9.9, "wasted_bytes": 2269184}
      details: {"method": "estimate"}
      timestamp: "2026-11-23T03:00:00Z"
upkeep_results:
  description:
    - One V(ok) entry for the database (check V(postgresql_health)) with its size, connections and wraparound share
      as metrics, followed by the RV(findings).
  returned: always
  type: list
  elements: dict
"""

import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.upkeep.maintenance.plugins.module_utils._postgresql import (
    LOCK_NOT_AVAILABLE,
    SCHEMA_ARGUMENT_SPEC,
    PostgreSQLMaintenanceError,
    bloat_estimates,
    driver,
    postgresql_common_argument_spec,
    require_driver,
    schema_filter,
    sql,
    sqlstate,
    table_statistics,
    with_session,
)
from ansible_collections.upkeep.maintenance.plugins.module_utils._results import failing_entries, result_entry
from ansible_collections.upkeep.maintenance.plugins.module_utils._units import human_bytes

INDEXES = """
SELECT i.indexrelid AS oid, n.nspname AS schema, t.relname AS "table", c.relname AS name,
       pg_relation_size(i.indexrelid)::bigint AS size, coalesce(s.idx_scan, 0)::bigint AS scans,
       i.indisunique AS unique, i.indisvalid AS valid,
       EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) AS "constraint"
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = i.indexrelid
WHERE t.relkind IN ('r', 'm') AND {schemas}
ORDER BY n.nspname, t.relname, c.relname
"""

SESSIONS = """
SELECT pid, usename AS user, datname AS database, state, query,
       extract(epoch FROM now() - CASE WHEN state = 'active' THEN query_start ELSE state_change END)::float8 AS seconds
FROM pg_stat_activity
WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
  AND ((state = 'active' AND now() - query_start > make_interval(secs => %s))
       OR (state LIKE 'idle in transaction%%' AND now() - state_change > make_interval(secs => %s)))
ORDER BY seconds DESC
"""

# Sessions waiting for a lock another session holds, with the sessions that block them.
LOCK_WAITS = """
SELECT pid, usename AS user, datname AS database, query, pg_blocking_pids(pid) AS blocked_by,
       extract(epoch FROM now() - query_start)::float8 AS seconds
FROM pg_stat_activity
WHERE wait_event_type = 'Lock' AND backend_type = 'client backend'
  AND now() - query_start > make_interval(secs => %s)
ORDER BY seconds DESC
"""

CONNECTIONS = """
SELECT coalesce(state, 'unknown') AS state, count(*)::int AS count FROM pg_stat_activity
WHERE backend_type = 'client backend' GROUP BY 1
"""

WRAPAROUND = """
SELECT datname AS database, age(datfrozenxid)::bigint AS age,
       current_setting('autovacuum_freeze_max_age')::bigint AS freeze_max_age
FROM pg_database WHERE datallowconn ORDER BY age DESC
"""

ARCHIVER = """
SELECT current_setting('archive_mode') AS mode, archived_count::bigint, failed_count::bigint,
       extract(epoch FROM now() - last_archived_time)::float8 AS last_archived_age,
       extract(epoch FROM now() - last_failed_time)::float8 AS last_failed_age,
       last_failed_wal,
       coalesce(last_failed_time > coalesce(last_archived_time, '-infinity'), false) AS failing
FROM pg_stat_archiver
"""

SLOTS = """
SELECT slot_name AS name, slot_type AS type, active, database,
       pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() ELSE pg_current_wal_lsn() END,
                       restart_lsn)::bigint AS retained_bytes
FROM pg_replication_slots ORDER BY slot_name
"""

STANDBYS = """
SELECT application_name AS name, host(client_addr) AS client, state,
       coalesce(extract(epoch FROM replay_lag), 0)::float8 AS replay_lag_seconds
FROM pg_stat_replication ORDER BY application_name
"""

QUOTED_LITERAL = re.compile(r"'(?:[^']|'')*'")


def redact(query):
    """A query text with its string literals replaced, cut to a length that fits a report line."""
    text = QUOTED_LITERAL.sub("'?'", " ".join((query or "").split()))
    return text if len(text) <= 200 else text[:197] + "..."


class Report(object):
    def __init__(self, module, session):
        self.module = module
        self.params = module.params
        self.session = session
        self.db = self.params["db"]
        self.findings = []

    def finding(self, check, target, status, summary, **metrics):
        self.findings.append(result_entry(check, "%s/%s" % (self.db, target) if target else self.db, status, summary,
                                          metrics=metrics))

    def relations(self):
        params = self.params
        schemas, exclude = params["schemas"], params["exclude_schemas"]
        bloat = bloat_estimates(self.session, schemas, exclude, min_size=params["bloat_min_bytes"])
        unknown = dict(ratio=None, wasted_bytes=None, method=None)
        tables = []
        for row in table_statistics(self.session, schemas, exclude):
            estimate = bloat.get(row.pop("oid"), unknown)
            row.pop("pages")
            row.pop("vacuum_age")
            row.update(bloat_ratio=estimate["ratio"], wasted_bytes=estimate["wasted_bytes"], bloat_method=estimate["method"])
            tables.append(row)
            self.check_bloat("table", row["schema"], row["name"], row)
        where, where_params = schema_filter(schemas, exclude)
        indexes = []
        for row in self.session.execute(sql.SQL(INDEXES).format(schemas=where), where_params):
            estimate = bloat.get(row.pop("oid"), unknown)
            row.update(bloat_ratio=estimate["ratio"], wasted_bytes=estimate["wasted_bytes"], bloat_method=estimate["method"])
            indexes.append(row)
            self.check_bloat("index", row["schema"], row["name"], row)
        for row in indexes:
            if not row["valid"]:
                self.finding("postgresql_invalid_index", "%s.%s" % (row["schema"], row["name"]), "warning",
                             "index %s.%s on %s (%s) is invalid: an interrupted CREATE INDEX or REINDEX CONCURRENTLY "
                             "left it, and every write still maintains it" % (
                                 row["schema"], row["name"], row["table"], human_bytes(row["size"])),
                             size_bytes=row["size"])
        unused = [dict(schema=row["schema"], table=row["table"], name=row["name"], size=row["size"])
                  for row in indexes if row["scans"] == 0 and not row["unique"] and not row["constraint"] and row["valid"]]
        for index in unused:
            if index["size"] >= params["unused_index_min_bytes"]:
                self.finding("postgresql_unused_index", "%s.%s" % (index["schema"], index["name"]), "warning",
                             "index %s.%s on %s (%s) was never scanned" % (
                                 index["schema"], index["name"], index["table"], human_bytes(index["size"])),
                             size_bytes=index["size"])
        return tables, indexes, unused

    def check_bloat(self, kind, schema, name, row):
        if row["bloat_ratio"] is None or row["bloat_ratio"] < self.params["bloat_ratio"]:
            return
        if row["wasted_bytes"] < self.params["bloat_min_bytes"]:
            return
        self.finding("postgresql_bloat", "%s.%s" % (schema, name), "warning",
                     "%s %s.%s is %.1fx the size its rows need (%s wasted, %s)" % (
                         kind, schema, name, row["bloat_ratio"], human_bytes(row["wasted_bytes"]), row["bloat_method"]),
                     bloat_ratio=row["bloat_ratio"], wasted_bytes=row["wasted_bytes"])

    def sessions(self):
        rows = self.session.execute(SESSIONS, (self.params["long_query_seconds"], self.params["idle_in_transaction_seconds"]))
        for row in rows:
            row["query"] = redact(row["query"])
            kind = "query running" if row["state"] == "active" else "session %s" % row["state"]
            self.finding("postgresql_long_query" if row["state"] == "active" else "postgresql_idle_in_transaction",
                         "pid %d" % row["pid"], "warning", "%s for %.1f s (user %s, database %s): %s" % (
                             kind, row["seconds"], row["user"], row["database"], row["query"]),
                         duration_seconds=round(row["seconds"], 1))
        return rows

    def lock_waits(self):
        rows = self.session.execute(LOCK_WAITS, (self.params["lock_wait_seconds"],))
        for row in rows:
            row["query"] = redact(row["query"])
            row["blocked_by"] = list(row["blocked_by"] or [])
            self.finding("postgresql_lock_wait", "pid %d" % row["pid"], "warning",
                         "query of %.1f s waiting for a lock held by pid %s (user %s, database %s): %s" % (
                             row["seconds"], ", ".join(str(pid) for pid in row["blocked_by"]) or "?", row["user"],
                             row["database"], row["query"]),
                         duration_seconds=round(row["seconds"], 1))
        return rows

    def connections(self):
        states = dict((row["state"], row["count"]) for row in self.session.execute(CONNECTIONS))
        used = sum(states.values())
        limit = int(self.session.scalar("SELECT current_setting('max_connections')"))
        ratio = round(float(used) / limit, 3)
        status = self.level(ratio, "connections")
        if status:
            self.finding("postgresql_connections", None, status, "%d of %d connections in use (%d %%)" % (
                used, limit, round(ratio * 100)), connections=used, connections_ratio=ratio)
        return dict(used=used, max=limit, ratio=ratio, states=states)

    def level(self, ratio, name):
        if ratio >= self.params[name + "_critical"]:
            return "critical"
        if ratio >= self.params[name + "_warning"]:
            return "warning"
        return None

    def wraparound(self):
        rows = self.session.execute(WRAPAROUND)
        for row in rows:
            row["ratio"] = round(float(row["age"]) / row["freeze_max_age"], 4)
            status = self.level(row["ratio"], "wraparound")
            if status:
                self.findings.append(result_entry(
                    "postgresql_wraparound", row["database"], status,
                    "database %s: transaction-ID age %d is %d %% of autovacuum_freeze_max_age; VACUUM FREEZE it" % (
                        row["database"], row["age"], round(row["ratio"] * 100)),
                    metrics=dict(xid_age=row["age"], wraparound_ratio=row["ratio"])))
        return rows

    def archiver(self):
        row = self.session.execute(ARCHIVER)[0]
        if row["failing"]:
            self.finding("postgresql_archiver", None, "critical",
                         "WAL archiving is failing (%d failures, last on %s): WAL accumulates until it works again" % (
                             row["failed_count"], row["last_failed_wal"]), failed_count=row["failed_count"])
        return row

    def replication(self):
        slots = self.session.execute(SLOTS)
        for slot in slots:
            if not slot["active"] and (slot["retained_bytes"] or 0) >= self.params["slot_retained_bytes"]:
                self.finding("postgresql_replication_slot", slot["name"], "warning",
                             "inactive replication slot %s holds back %s of WAL" % (
                                 slot["name"], human_bytes(slot["retained_bytes"])),
                             retained_bytes=slot["retained_bytes"])
        standbys = self.session.execute(STANDBYS)
        for standby in standbys:
            if standby["replay_lag_seconds"] >= self.params["replication_lag_seconds"]:
                self.finding("postgresql_replication_lag", standby["name"], "warning",
                             "standby %s (%s) replays %.0f s behind" % (
                                 standby["name"], standby["client"], standby["replay_lag_seconds"]),
                             replay_lag_seconds=standby["replay_lag_seconds"])
        return dict(slots=slots, standbys=standbys)

    def gather(self):
        # Reading the tables' statistics waits behind an exclusive lock (a migration, VACUUM FULL): the report gives up
        # after lock_timeout rather than hang, and says who is waiting for what.
        self.session.set_timeouts(self.params["lock_timeout"], "0")
        lock_waits = self.lock_waits()
        try:
            tables, indexes, unused = self.relations()
        except driver.Error as error:
            if sqlstate(error) != LOCK_NOT_AVAILABLE:
                raise
            raise PostgreSQLMaintenanceError(
                "database %s: the tables could not be read within lock_timeout %s, a session holds an exclusive lock%s" % (
                    self.db, self.params["lock_timeout"], "; waiting: " + "; ".join(
                        "pid %d behind pid %s" % (row["pid"], ", ".join(map(str, row["blocked_by"]))) for row in lock_waits)
                    if lock_waits else ""))
        result = dict(
            server_version=self.session.version,
            in_recovery=self.session.scalar("SELECT pg_is_in_recovery()"),
            tables=tables,
            indexes=indexes,
            unused_indexes=unused,
            statistics_reset_age=self.session.scalar(
                "SELECT extract(epoch FROM now() - stats_reset)::float8 FROM pg_stat_database WHERE datname = current_database()"),
            sessions=self.sessions(),
            lock_waits=lock_waits,
            connections=self.connections(),
            wraparound=self.wraparound(),
            databases=self.session.execute(
                "SELECT datname AS name, pg_database_size(oid)::bigint AS size FROM pg_database"
                " WHERE datallowconn ORDER BY datname"),
            archiver=self.archiver(),
            replication=self.replication(),
        )
        result["findings"] = self.findings
        return result

    def health_entry(self, result):
        size = next(database["size"] for database in result["databases"] if database["name"] == self.db)
        wraparound = next((row["ratio"] for row in result["wraparound"] if row["database"] == self.db), 0)
        counts = {}
        for finding in self.findings:
            counts[finding["status"]] = counts.get(finding["status"], 0) + 1
        found = ", ".join("%d %s" % (count, status) for status, count in sorted(counts.items())) or "no findings"
        return result_entry(
            "postgresql_health", self.db, "ok",
            "database %s: %s, %d tables, %d/%d connections, wraparound %d %%; %s" % (
                self.db, human_bytes(size), len(result["tables"]), result["connections"]["used"],
                result["connections"]["max"], round(wraparound * 100), found),
            metrics=dict(size_bytes=size, tables=len(result["tables"]), connections=result["connections"]["used"],
                         connections_ratio=result["connections"]["ratio"], wraparound_ratio=wraparound,
                         dead_tuples=sum(table["dead_tuples"] for table in result["tables"]),
                         unused_indexes=len(result["unused_indexes"]), findings=len(self.findings)))


def gather(module, session):
    report = Report(module, session)
    return report, report.gather()


def main():
    argument_spec = postgresql_common_argument_spec()
    argument_spec.update(SCHEMA_ARGUMENT_SPEC)
    argument_spec.update(
        bloat_ratio=dict(type="float", default=2.0),
        bloat_min_bytes=dict(type="int", default=8 * 1024 * 1024),
        unused_index_min_bytes=dict(type="int", default=1024 * 1024),
        long_query_seconds=dict(type="float", default=1.0),
        idle_in_transaction_seconds=dict(type="float", default=60.0),
        lock_wait_seconds=dict(type="float", default=5.0),
        lock_timeout=dict(type="str", default="10s"),
        connections_warning=dict(type="float", default=0.8),
        connections_critical=dict(type="float", default=0.95),
        wraparound_warning=dict(type="float", default=0.5),
        wraparound_critical=dict(type="float", default=0.75),
        replication_lag_seconds=dict(type="float", default=60.0),
        slot_retained_bytes=dict(type="int", default=1024 * 1024 * 1024),
        fail_on=dict(type="str", default="never", choices=["critical", "warning", "never"]),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    for name in ("connections", "wraparound"):
        if module.params[name + "_warning"] > module.params[name + "_critical"]:
            module.fail_json(msg="%s_warning must not be above %s_critical" % (name, name))
    require_driver(module)

    report, result = with_session(module, lambda session: gather(module, session), read_only=True)

    result["upkeep_results"] = [report.health_entry(result)] + result["findings"]
    failing = failing_entries(result["findings"], module.params["fail_on"])
    if failing:
        module.fail_json(msg="; ".join(entry["summary"] for entry in failing), changed=False, **result)
    module.exit_json(changed=False, msg=result["upkeep_results"][0]["summary"], **result)


if __name__ == "__main__":
    main()
