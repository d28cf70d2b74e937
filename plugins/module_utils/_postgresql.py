# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Connections, identifiers and statistics shared by the PostgreSQL modules.

psycopg 3 is used when it is installed, else psycopg2. Both offer the same ``sql`` composition
module, so identifiers are always quoted by the driver and never by string formatting.
"""

import os
import queue
import re
import threading
import time
import traceback

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.upkeep.maintenance.plugins.module_utils._files import FormatError
from ansible_collections.upkeep.maintenance.plugins.module_utils._pgclient import PgClient

try:
    import psycopg as driver
    from psycopg import sql
    DRIVER_IMPORT_ERROR = None
except ImportError:
    try:
        import psycopg2 as driver
        from psycopg2 import sql
        DRIVER_IMPORT_ERROR = None
    except ImportError:
        driver = None
        sql = None
        DRIVER_IMPORT_ERROR = traceback.format_exc()

# Options of every PostgreSQL module; the doc fragment upkeep.maintenance.postgresql documents them.
POSTGRESQL_COMMON_ARGUMENT_SPEC = dict(
    login_host=dict(type="str", default=""),
    login_port=dict(type="int", default=5432),
    login_user=dict(type="str", default="postgres"),
    login_password=dict(type="str", default="", no_log=True),
    login_unix_socket=dict(type="str", default=""),
    db=dict(type="str", default="postgres", aliases=["login_db"]),
    ssl_mode=dict(type="str", default="prefer",
                  choices=["allow", "disable", "prefer", "require", "verify-ca", "verify-full"]),
    ca_cert=dict(type="path", aliases=["ssl_rootcert"]),
    connect_timeout=dict(type="int", default=10),
)

# Lock and statement limits of the modules that change something (doc fragment upkeep.maintenance.postgresql.TIMEOUTS).
TIMEOUT_ARGUMENT_SPEC = dict(
    lock_timeout=dict(type="str", default="5s"),
    statement_timeout=dict(type="str", default="0"),
)

# Which schemas automatic selection looks at (doc fragment upkeep.maintenance.postgresql.SCHEMAS).
SCHEMA_ARGUMENT_SPEC = dict(
    schemas=dict(type="list", elements="str", default=[]),
    exclude_schemas=dict(type="list", elements="str", default=[]),
)

LOCK_NOT_AVAILABLE = "55P03"
QUERY_CANCELED = "57014"
INSUFFICIENT_PRIVILEGE = "42501"
# Why VACUUM passes over a relation with a WARNING instead of an error, by SQLSTATE: the server's words are in the
# server's language (lc_messages), the codes are not.
SKIP_REASONS = {LOCK_NOT_AVAILABLE: "locked by another session (SKIP_LOCKED)",
                INSUFFICIENT_PRIVILEGE: "only its owner or a superuser may vacuum it"}
# How often a session whose client has gone is noticed and its work stopped (PostgreSQL 14 and newer).
CLIENT_CHECK_INTERVAL = "2s"


def postgresql_common_argument_spec():
    return dict((name, dict(spec)) for name, spec in POSTGRESQL_COMMON_ARGUMENT_SPEC.items())


class PostgreSQLMaintenanceError(Exception):
    """A failure the module reports as one line."""


def require_driver(module):
    if driver is None:
        module.fail_json(msg=missing_required_lib("psycopg (version 3) or psycopg2"), exception=DRIVER_IMPORT_ERROR)


def one_line(error):
    """The server's or libpq's message of an error, on one line, without the FATAL/ERROR prefixes."""
    text = " ".join(str(error).split())
    text = re.sub(r"^connection failed: ", "", text)
    return re.sub(r"\b(FATAL|ERROR): +", "", text).strip()


def sqlstate(error):
    return getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)


def describe_server(params):
    where = params["login_unix_socket"] or params["login_host"] or "the default socket"
    return "%s port %d" % (where, params["login_port"])


class Session(object):
    """One autocommit connection: the statements it ran (as the server received them) and the notices it got."""

    def __init__(self, params, read_only=False):
        self.params = params
        options = libpq_parameters(params)
        try:
            self.conn = driver.connect(**options)
        except driver.Error as error:
            raise PostgreSQLMaintenanceError("cannot connect to database %s as %s on %s: %s" % (
                params["db"], params["login_user"], describe_server(params), one_line(error)))
        self.conn.autocommit = True
        self._notices = []
        # psycopg 3 gives each notice's SQLSTATE; psycopg2 only its text, in the server's language.
        self.notice_states = hasattr(self.conn, "add_notice_handler")
        if self.notice_states:
            self.conn.add_notice_handler(
                lambda diagnostic: self._notices.append((diagnostic.sqlstate, diagnostic.message_primary)))
        self.version = int(self.scalar("SELECT current_setting('server_version_num')"))
        if read_only:
            self.scalar("SELECT set_config('default_transaction_read_only', 'on', false)")

    def close(self):
        self.conn.close()

    def render(self, statement):
        return statement if isinstance(statement, str) else statement.as_string(self.conn)

    def execute(self, statement, params=None):
        cursor = self.conn.cursor()
        try:
            cursor.execute(statement, params)
            if cursor.description is None:
                return []
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]
        finally:
            cursor.close()

    def scalar(self, statement, params=None):
        rows = self.execute(statement, params)
        return next(iter(rows[0].values())) if rows else None

    def take_notices(self):
        """(SQLSTATE or None, message) of the notices and warnings since the last call (VACUUM reports tables it
        skipped this way)."""
        if not self.notice_states:
            self._notices.extend((None, " ".join(notice.split(":", 1)[-1].split())) for notice in self.conn.notices)
            del self.conn.notices[:]
        notices, self._notices = self._notices, []
        return notices

    def set_timeouts(self, lock_timeout, statement_timeout):
        """Session limits, so that the application never queues behind a maintenance statement; and, from
        PostgreSQL 14, the server checks that the module is still there, so that the work of a killed run stops."""
        statements = [
            sql.SQL("SET lock_timeout = {}").format(sql.Literal(lock_timeout)),
            sql.SQL("SET statement_timeout = {}").format(sql.Literal(statement_timeout)),
        ]
        if self.version >= 140000:
            statements.append(sql.SQL("SET client_connection_check_interval = {}").format(sql.Literal(CLIENT_CHECK_INTERVAL)))
        try:
            for statement in statements:
                self.execute(statement)
        except driver.Error as error:
            raise PostgreSQLMaintenanceError(one_line(error))
        return [self.render(statement) for statement in statements]


def libpq_parameters(params):
    """libpq's connection keywords for the connection options; unset ones are left to libpq's defaults."""
    keywords = dict(
        host=params["login_unix_socket"] or params["login_host"], port=params["login_port"], user=params["login_user"],
        dbname=params["db"], password=params["login_password"], sslmode=params["ssl_mode"],
        sslrootcert=params["ca_cert"], connect_timeout=params["connect_timeout"], application_name="upkeep.maintenance")
    return dict((keyword, value) for keyword, value in keywords.items() if value not in (None, ""))


# The environment variables libpq reads for its keywords.
LIBPQ_ENVIRONMENT = dict(host="PGHOST", port="PGPORT", user="PGUSER", dbname="PGDATABASE", password="PGPASSWORD",
                         sslmode="PGSSLMODE", sslrootcert="PGSSLROOTCERT", connect_timeout="PGCONNECT_TIMEOUT",
                         application_name="PGAPPNAME")


def libpq_environment(params):
    """The environment that points PostgreSQL's client programs (pg_dump, pg_restore, psql) where the connection
    options do; the password travels in the environment, never on a command line."""
    environment = dict(os.environ)
    environment.update((LIBPQ_ENVIRONMENT[keyword], str(value)) for keyword, value in libpq_parameters(params).items())
    return environment


def pg_client(module, params):
    """PostgreSQL's client programs where the options say: the host's, or with a container, the container's."""
    docker = None
    if params.get("container"):
        docker = module.get_bin_path("docker")
        if not docker:
            raise FormatError("container %s: the docker command is not installed" % params["container"])
    return PgClient(libpq_environment(params), params.get("container"), docker or "docker", LIBPQ_ENVIRONMENT.values())


def connect(params, read_only=False):
    return Session(params, read_only=read_only)


def with_session(module, work, read_only=False):
    """work(session) on a connection closed afterwards; a failure ends the module with one line."""
    try:
        session = connect(module.params, read_only=read_only)
        try:
            return work(session)
        finally:
            session.close()
    except PostgreSQLMaintenanceError as error:
        module.fail_json(msg=str(error))
    except driver.Error as error:
        module.fail_json(msg="database %s: %s" % (module.params["db"], one_line(error)))


def split_name(name):
    """``schema.name`` or ``name`` (looked up along the search path); names are matched exactly, without quotes."""
    schema, dot, relation = name.partition(".")
    return (schema, relation) if dot else (None, name)


def resolve_relations(session, names, kinds, what):
    """The catalog rows of relations named by the user, in the order given; unknown names fail with one line."""
    found = []
    missing = []
    for name in names:
        schema, relation = split_name(name)
        rows = session.execute(
            "SELECT c.oid, n.nspname AS schema, c.relname AS name, c.relkind::text AS relkind FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relname = %s AND c.relkind::text = ANY(%s)"
            " AND (n.nspname = %s OR (%s::text IS NULL AND n.nspname = ANY(current_schemas(false))))"
            " ORDER BY array_position(current_schemas(false), n.nspname::text) NULLS LAST LIMIT 1",
            (relation, list(kinds), schema, schema))
        if rows:
            if rows[0] not in found:
                found.append(rows[0])
        else:
            missing.append(name)
    if missing:
        raise PostgreSQLMaintenanceError("%s not found in database %s: %s" % (
            what, session.params["db"], ", ".join(missing)))
    return found


def schema_filter(schemas, exclude_schemas, column="n.nspname"):
    """A WHERE clause fragment (with its parameters) for the schemas automatic selection may look at."""
    clause = sql.SQL("{column} <> 'information_schema' AND {column} !~ '^pg_'").format(
        column=sql.SQL(column))
    params = []
    if schemas:
        clause = sql.SQL("{} AND {} = ANY(%s)").format(clause, sql.SQL(column))
        params.append(list(schemas))
    if exclude_schemas:
        clause = sql.SQL("{} AND NOT {} = ANY(%s)").format(clause, sql.SQL(column))
        params.append(list(exclude_schemas))
    return clause, params


def pgstattuple_schema(session):
    """The schema of the pgstattuple extension when it is installed in this database, else None."""
    rows = session.execute(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
        " WHERE e.extname = 'pgstattuple'")
    return rows[0]["nspname"] if rows else None


# Statistics of every user table: dead tuples, modifications since ANALYZE, ages of the last (auto)vacuum and
# (auto)analyze in seconds (NULL when never), size. Ages are computed by the server, so clocks do not matter.
TABLE_STATISTICS = """
SELECT c.oid, n.nspname AS schema, c.relname AS name, c.relkind::text AS relkind,
       s.n_live_tup::bigint AS live_tuples, s.n_dead_tup::bigint AS dead_tuples,
       s.n_mod_since_analyze::bigint AS modified_since_analyze,
       CASE WHEN s.n_live_tup + s.n_dead_tup > 0
            THEN round((s.n_dead_tup::numeric / (s.n_live_tup + s.n_dead_tup)), 4)::float8 ELSE 0 END AS dead_ratio,
       extract(epoch FROM now() - s.last_vacuum)::float8 AS last_vacuum_age,
       extract(epoch FROM now() - s.last_autovacuum)::float8 AS last_autovacuum_age,
       extract(epoch FROM now() - s.last_analyze)::float8 AS last_analyze_age,
       extract(epoch FROM now() - s.last_autoanalyze)::float8 AS last_autoanalyze_age,
       pg_table_size(c.oid)::bigint AS size, c.relpages::bigint AS pages
FROM pg_stat_user_tables s
JOIN pg_class c ON c.oid = s.relid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE {schemas}
ORDER BY n.nspname, c.relname
"""


def table_statistics(session, schemas=(), exclude_schemas=()):
    where, params = schema_filter(schemas, exclude_schemas)
    rows = session.execute(sql.SQL(TABLE_STATISTICS).format(schemas=where), params)
    for row in rows:
        ages = [row[key] for key in ("last_vacuum_age", "last_autovacuum_age") if row[key] is not None]
        row["vacuum_age"] = min(ages) if ages else None
    return rows


# Catalog estimate of the pages a table or B-tree index needs for its rows (after check_postgres and
# ioguix's estimates): average row width from pg_stats plus tuple header and line pointer, fill factor.
# Live rows come from the activity statistics, which follow deletions at once, else from the planner's
# count of the last VACUUM or ANALYZE. Relations without column statistics get no estimate.
CATALOG_BLOAT = """
WITH settings AS (SELECT current_setting('block_size')::int AS block_size),
tables AS (
  SELECT c.oid, c.relpages::bigint AS pages, coalesce(st.n_live_tup::float8, c.reltuples) AS reltuples,
         coalesce((SELECT substring(opt FROM '^fillfactor=(\\d+)')::int
                   FROM unnest(c.reloptions) opt WHERE opt ~ '^fillfactor='), 100) AS fillfactor,
         (SELECT sum((1 - s.null_frac) * s.avg_width) FROM pg_stats s
           WHERE s.schemaname = n.nspname AND s.tablename = c.relname) AS row_width,
         n.nspname, c.relname
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_stat_user_tables st ON st.relid = c.oid
  WHERE c.relkind IN ('r', 'm') AND {schemas}
),
table_estimates AS (
  SELECT oid, 'table' AS kind, pages,
         CASE WHEN row_width IS NULL OR reltuples < 0 THEN NULL
              ELSE greatest(1, ceil(reltuples * (24 + 4 + row_width + 4)
                                    / ((block_size - 24) * fillfactor / 100.0)))::bigint END AS expected_pages
  FROM tables, settings
),
indexes AS (
  SELECT i.indexrelid AS oid, ic.relpages::bigint AS pages, t.reltuples,
         coalesce((SELECT substring(opt FROM '^fillfactor=(\\d+)')::int
                   FROM unnest(ic.reloptions) opt WHERE opt ~ '^fillfactor='), 90) AS fillfactor,
         (SELECT sum(s.avg_width) FROM pg_attribute a
            JOIN pg_stats s ON s.schemaname = t.nspname AND s.tablename = t.relname AND s.attname = a.attname
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)) AS key_width,
         -- Distinct keys: B-tree deduplication (PostgreSQL 13) stores each once with the row pointers of its rows.
         (SELECT exp(sum(ln(greatest(1, CASE WHEN s.n_distinct < 0 THEN -s.n_distinct * greatest(t.reltuples, 1)
                                             ELSE s.n_distinct END))))
            FROM pg_attribute a
            JOIN pg_stats s ON s.schemaname = t.nspname AND s.tablename = t.relname AND s.attname = a.attname
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)) AS key_groups,
         current_setting('server_version_num')::int >= 130000 AND NOT i.indisunique AND i.indnatts = i.indnkeyatts
           AND NOT EXISTS (SELECT 1 FROM unnest(ic.reloptions) opt WHERE opt ~* '^deduplicate_items=(off|false|no|0)$')
           AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
                             AND a.atttypid IN ('numeric'::regtype, 'float4'::regtype, 'float8'::regtype,
                                                'jsonb'::regtype)) AS deduplicated,
         0 = ANY(i.indkey) AS has_expressions
  FROM pg_index i
  JOIN pg_class ic ON ic.oid = i.indexrelid
  JOIN pg_am am ON am.oid = ic.relam AND am.amname = 'btree'
  JOIN tables t ON t.oid = i.indrelid
),
index_estimates AS (
  -- An index tuple: 8 bytes of header and pointer, a 4-byte line pointer, the key aligned to 8 bytes; with
  -- deduplication, one tuple per distinct key (and per 400 rows of it, a posting list's limit) plus 6 bytes a row.
  SELECT oid, 'index' AS kind, pages,
         CASE WHEN key_width IS NULL OR has_expressions OR reltuples < 0 THEN NULL
              ELSE 1 + greatest(1, ceil(
                CASE WHEN deduplicated
                     THEN least(reltuples, greatest(coalesce(key_groups, reltuples), reltuples / 400))
                            * (8 + 4 + (ceil(key_width / 8.0) * 8))
                          + greatest(0, reltuples - least(reltuples, greatest(coalesce(key_groups, reltuples),
                                                                              reltuples / 400))) * 6
                     ELSE reltuples * (8 + 4 + (ceil(key_width / 8.0) * 8)) END
                / ((block_size - 24 - 16) * fillfactor / 100.0)))::bigint END AS expected_pages
  FROM indexes, settings
)
SELECT e.oid, e.kind, e.pages, e.expected_pages, s.block_size FROM table_estimates e, settings s
UNION ALL
SELECT e.oid, e.kind, e.pages, e.expected_pages, s.block_size FROM index_estimates e, settings s
"""


def _estimate(pages, expected_pages, block_size, method):
    if expected_pages is None:
        return dict(ratio=None, wasted_bytes=None, method=method)
    return dict(
        ratio=round(float(pages) / max(expected_pages, 1), 2),
        wasted_bytes=max(0, int(pages - expected_pages)) * block_size,
        method=method)


def bloat_estimates(session, schemas=(), exclude_schemas=(), min_size=0):
    """Estimated bloat of tables and B-tree indexes: {oid: {ratio, wasted_bytes, method}}, each from the source that
    is right for it, as checked against freshly rebuilt copies.

    The catalog estimate (column statistics, tuple and page overheads, fill factor, B-tree deduplication) comes
    within a few per cent of a rebuilt copy, and is used wherever the statistics allow it. pgstattuple, when
    installed, measures what the catalog cannot estimate (tables never analyzed, expression indexes), for relations
    of at least min_size bytes since it reads them: pgstattuple_approx counts free space by the free space map's
    32-byte steps and so overstates live bytes, and pgstatindex counts the entries of dead rows as used space.
    Invalid indexes (left by an interrupted CONCURRENTLY build) are never measured: pgstatindex refuses them.
    """
    where, params = schema_filter(schemas, exclude_schemas)
    estimates = {}
    for row in session.execute(sql.SQL(CATALOG_BLOAT).format(schemas=where), params):
        estimates[row["oid"]] = _estimate(row["pages"], row["expected_pages"], row["block_size"], "estimate")
    extension = pgstattuple_schema(session)
    if extension is None:
        return estimates
    unestimated = [oid for oid, estimate in estimates.items() if estimate["ratio"] is None]
    measured = sql.SQL("""
SELECT c.oid, c.relkind, pg_relation_size(c.oid) AS size, current_setting('block_size')::int AS block_size,
       CASE WHEN c.relkind IN ('r', 'm') THEN
         (SELECT a.table_len / greatest(
                   (a.approx_tuple_len + a.approx_tuple_count * 8)
                   * current_setting('block_size')::float8 / (current_setting('block_size')::int - 24)
                   / (coalesce((SELECT substring(opt FROM '^fillfactor=(\\d+)')::int
                                FROM unnest(c.reloptions) opt WHERE opt ~ '^fillfactor='), 100) / 100.0),
                   current_setting('block_size')::float8)
          FROM {approx}(c.oid) a)
       ELSE (SELECT 90 / nullif(avg_leaf_density, 'NaN')::float8 FROM {index}(c.oid::regclass)) END AS ratio
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_am am ON am.oid = c.relam
LEFT JOIN pg_index x ON x.indexrelid = c.oid
WHERE ({where}) AND pg_relation_size(c.oid) >= %s
  AND c.oid = ANY(%s::oid[])
  AND (c.relkind IN ('r', 'm') OR (c.relkind = 'i' AND am.amname = 'btree' AND x.indisvalid))
""").format(approx=sql.Identifier(extension, "pgstattuple_approx"), index=sql.Identifier(extension, "pgstatindex"),
            where=where)
    for row in session.execute(measured, params + [min_size, unestimated]):
        if row["ratio"] is None:
            continue
        ratio = round(row["ratio"], 2)
        estimates[row["oid"]] = dict(
            ratio=ratio, wasted_bytes=int(row["size"] * max(0.0, 1 - 1 / ratio)) if ratio > 0 else 0,
            method="pgstattuple" if row["relkind"] != "i" else "pgstatindex")
    return estimates


def attempt(session, statement, evidence=None):
    """Run one maintenance statement: (outcome, reason, seconds), outcome V(done), V(skipped) or V(failed).

    Giving up on a lock (lock_timeout, or SKIP_LOCKED's warning) and a statement_timeout are skips: the
    application had the relation, and the next run tries again. A warning is told apart by its SQLSTATE, whatever
    the server's language; where the driver gives none (psycopg2), by ``evidence(session)``, a value the work
    changes (a vacuum counter, a file node), read before and after.
    """
    started = time.monotonic()
    session.take_notices()
    before = evidence(session) if evidence is not None and not session.notice_states else None
    try:
        session.execute(statement)
    except driver.Error as error:
        seconds = time.monotonic() - started
        if sqlstate(error) == LOCK_NOT_AVAILABLE:
            return "skipped", "lock not available within lock_timeout (%s)" % one_line(error), seconds
        if sqlstate(error) == QUERY_CANCELED:
            return "skipped", "cancelled by statement_timeout (%s)" % one_line(error), seconds
        return "failed", one_line(error), seconds
    seconds = time.monotonic() - started
    for state, message in session.take_notices():
        if state in SKIP_REASONS:
            return "skipped", "%s: %s" % (SKIP_REASONS[state], message), seconds
    if before is not None and not changed_since(session, evidence, before):
        return "skipped", "the server passed over it: %s, or %s" % (
            SKIP_REASONS[LOCK_NOT_AVAILABLE], SKIP_REASONS[INSUFFICIENT_PRIVILEGE]), seconds
    return "done", None, seconds


def changed_since(session, evidence, before, patience=2.0):
    """Whether evidence(session) moved from before. Statistics reach other sessions at once from PostgreSQL 15; the
    statistics collector of older servers passes them on within about half a second."""
    deadline = time.monotonic() + (patience if session.version < 150000 else 0)
    while True:
        if evidence(session) != before:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
        session.execute("SELECT pg_stat_clear_snapshot()")


def free_connections(session):
    """Connections the server can still take from roles that are not superusers."""
    return session.scalar(
        "SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int"
        " - coalesce((SELECT setting::int FROM pg_settings WHERE name = 'reserved_connections'), 0)"
        " - (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')")


def run_concurrently(sessions, items, work):
    """work(session, item) for every item, each session used by one thread at a time, largest items first
    as the caller ordered them (like vacuumdb --jobs). Exceptions propagate after all threads stop."""
    pending = queue.Queue()
    for item in items:
        pending.put(item)
    errors = []

    def worker(session):
        while not errors:
            try:
                item = pending.get_nowait()
            except queue.Empty:
                return
            try:
                work(session, item)
            except Exception as error:  # pylint: disable=broad-except
                # Any error ends the run: it is raised again in the calling thread once the workers stop.
                errors.append(error)

    threads = [threading.Thread(target=worker, args=(session,)) for session in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
