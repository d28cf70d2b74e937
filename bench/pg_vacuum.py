"""Benchmark (not a test): postgresql_vacuum against vacuumdb, both over the server's socket.

Starts a throwaway PostgreSQL server (tests/support/pgserver.py) with TABLES tables of ROWS rows each, frozen and analyzed,
and before every run updates half of the rows of BLOATED of them. Two rows:
  - the same tables both ways: `vacuumdb --analyze -t ...` against postgresql_vacuum with those tables;
  - the whole database with vacuumdb against postgresql_vacuum choosing its tables from the statistics.
Each run must leave the bloated tables vacuumed: fewer dead tuples than half of those the churn made (VACUUM skips
a page another process has pinned, and the server counts that page's dead tuples as left; a table not vacuumed keeps
all of them).

Usage: python bench/pg_vacuum.py [--tables 200] [--bloated 20] [--rows-per-table 50000]
"""

import shutil

from harness import collections_path, compare, main, run, run_module, scratch
import pgserver  # tests/support/pgserver.py, on the path harness sets

DB = "bench"


def build(server, tables, rows):
    with server.connect(DB) as conn:
        for number in range(tables):
            conn.execute("CREATE TABLE t%03d (id bigint PRIMARY KEY, payload text, counter int)" % number)
            conn.execute("INSERT INTO t%03d SELECT g, md5(g::text), 0 FROM generate_series(1, %d) g" % (number, rows))
        conn.execute("VACUUM (FREEZE, ANALYZE)")


def churn(server, bloated):
    """Half of the rows of the bloated tables updated, the statistics showing their dead tuples."""
    with server.connect(DB) as conn:
        for number in range(bloated):
            updated = conn.execute("UPDATE t%03d SET counter = counter + 1 WHERE id %% 2 = 0" % number).rowcount
            pgserver.wait_for_statistics(conn, "t%03d" % number, "n_dead_tup", updated)


def not_vacuumed(server, bloated, rows_per_table):
    """The bloated tables left with at least half of the dead tuples the churn made."""
    with server.connect(DB) as conn:
        conn.execute("SELECT pg_stat_force_next_flush()")
        conn.execute("SELECT pg_stat_clear_snapshot()")
        return [name for (name,) in conn.execute(
            "SELECT relname FROM pg_stat_user_tables WHERE relname < 't%03d' AND n_dead_tup >= %d ORDER BY relname"
            % (bloated, rows_per_table // 4))]


def rows(tables=200, bloated=20, rows_per_table=50000):
    server = pgserver.Server().start()
    tmp = scratch()
    try:
        collections = collections_path(tmp)
        server.create_database(DB)
        build(server, tables, rows_per_table)
        login = server.login(DB, tcp=False)
        names = ["t%03d" % number for number in range(bloated)]
        vacuumdb = [server.tool("vacuumdb"), "--analyze", "--quiet", "-d", DB]

        def vacuum_both(_subject):
            return run(vacuumdb + [argument for name in names for argument in ("-t", name)], env=server.client_env())

        def left(_subject, _value):
            return not_vacuumed(server, bloated, rows_per_table)

        return [
            compare("postgresql_vacuum, the same %d of %d tables" % (bloated, tables),
                    ("vacuumdb --analyze -t (each table)", vacuum_both),
                    ("postgresql_vacuum tables", lambda _subject: run_module(
                        collections, "postgresql_vacuum", tables=["public.%s" % name for name in names], **login)),
                    prepare=lambda: churn(server, bloated), outcome=left, target=1.15),
            compare("postgresql_vacuum, %d of %d tables bloated" % (bloated, tables),
                    ("vacuumdb --analyze (whole database)", lambda _subject: run(vacuumdb, env=server.client_env())),
                    ("postgresql_vacuum, tables by statistics",
                     lambda _subject: run_module(collections, "postgresql_vacuum", **login)),
                    prepare=lambda: churn(server, bloated), outcome=left, target=0.20)]
    finally:
        server.stop()
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main(__doc__, rows)
