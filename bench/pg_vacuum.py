"""Benchmark (not a test): targeted postgresql_vacuum against `vacuumdb --analyze` of the whole database.

Starts a throwaway PostgreSQL server (tests/pgserver.py), creates --tables tables of --rows rows each with an index,
freezes and analyzes them (a database autovacuum has kept clean), then churns --bloated of them (half of their rows
updated) before each measurement, and prints in one run:
  - `vacuumdb --analyze` of the whole database (the baseline) and the dead tuples it leaves;
  - postgresql_vacuum with the role's daily settings (tables chosen from their statistics, VACUUM ANALYZE of those),
    timed as Ansible runs it (a Python process reading JSON arguments), and the dead tuples it leaves;
  - the same with jobs: 2 against jobs: 1.
Targets: the same dead tuples cleared in at most a fifth of the baseline's time; jobs: 2 faster than jobs: 1.

Usage: python bench/pg_vacuum.py [--tables 200] [--bloated 20] [--rows 50000]
"""

import argparse
import os
import shutil
import sys
import tempfile

from harness import ROOT, collections_path, run_module, timed

sys.path.insert(0, os.path.join(ROOT, "tests"))

import pgserver  # noqa: E402  (tests/pgserver.py, found through the path set above)

DB = "bench"


def build(server, tables, rows):
    with server.connect(DB) as conn:
        for number in range(tables):
            conn.execute("CREATE TABLE t%03d (id bigint PRIMARY KEY, payload text, counter int)" % number)
            conn.execute("INSERT INTO t%03d SELECT g, md5(g::text), 0 FROM generate_series(1, %d) g" % (number, rows))
        conn.execute("VACUUM (FREEZE, ANALYZE)")


def churn(server, bloated):
    """Update half of the rows of the bloated tables and wait until the statistics show the dead tuples."""
    with server.connect(DB) as conn:
        for number in range(bloated):
            updated = conn.execute("UPDATE t%03d SET counter = counter + 1 WHERE id %% 2 = 0" % number).rowcount
            pgserver.wait_for_statistics(conn, "t%03d" % number, "n_dead_tup", updated)


def dead_tuples(server):
    with server.connect(DB) as conn:
        conn.execute("SELECT pg_stat_force_next_flush()")
        conn.execute("SELECT pg_stat_clear_snapshot()")
        return conn.execute("SELECT sum(n_dead_tup)::bigint FROM pg_stat_user_tables").fetchone()[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tables", type=int, default=200)
    parser.add_argument("--bloated", type=int, default=20)
    parser.add_argument("--rows", type=int, default=50000)
    args = parser.parse_args()
    server = pgserver.Server().start()
    tmp = tempfile.mkdtemp(prefix="upkeep-bench-")
    try:
        collections = collections_path(tmp)
        server.create_database(DB)
        print("building %d tables of %d rows ..." % (args.tables, args.rows), flush=True)
        build(server, args.tables, args.rows)
        login = server.login(DB)

        churn(server, args.bloated)
        before = dead_tuples(server)
        baseline = timed([server.tool("vacuumdb"), "--analyze", "--quiet", "-d", DB], env=server.client_env())
        baseline_left = dead_tuples(server)

        churn(server, args.bloated)
        targeted, result = run_module(collections, "postgresql_vacuum", **login)
        targeted_left = dead_tuples(server)
        chosen = len(result["tables"])

        churn(server, args.bloated)
        two_jobs, _result = run_module(collections, "postgresql_vacuum", jobs=2, **login)
        two_jobs_left = dead_tuples(server)

        print("dead tuples before each run: %d in %d of %d tables" % (before, args.bloated, args.tables))
        print("vacuumdb --analyze (whole database)        %7.2f s  (baseline), dead tuples left %d" % (
            baseline, baseline_left))
        print("postgresql_vacuum, targeted, jobs 1        %7.2f s  ratio %.2f (target <= 0.20), %d tables, dead tuples left %d" % (
            targeted, targeted / baseline, chosen, targeted_left))
        print("  of which the module's own work (after Python and the driver are loaded) %.2f s, ratio %.2f" % (
            result["duration"], result["duration"] / baseline))
        print("postgresql_vacuum, targeted, jobs 2        %7.2f s  ratio %.2f, speed-up over jobs 1: %.2fx, dead tuples left %d" % (
            two_jobs, two_jobs / baseline, targeted / two_jobs, two_jobs_left))
    finally:
        server.stop()
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
