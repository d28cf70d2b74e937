"""postgresql_vacuum against a real PostgreSQL server."""

import pgserver
from conftest import hide_modules


def vacuum_options(pg_server, db, **options):
    return dict(pg_server.login(db), **options)


def test_vacuums_only_the_bloated_tables_and_a_second_run_changes_nothing(run_module, pg_server, pg_db, pg_driver):
    db, conn = pg_db
    pgserver.make_bloated_table(conn, "orders", rows=20000, keep_fraction=0.1)
    pgserver.make_clean_table(conn, "customers")
    untouched = pgserver.table_stats(conn, "customers")

    result = run_module("postgresql_vacuum", env=pg_driver, **vacuum_options(pg_server, db))

    assert result["rc"] == 0 and result["changed"] is True, result
    [table] = result["tables"]
    assert (table["schema"], table["name"], table["action"]) == ("public", "orders", "vacuum analyze")
    assert table["dead_tuples_before"] == 18000 and table["dead_tuples_after"] == 0
    assert table["skipped"] is False and table["reason"] == "18000 dead tuples (90 %)"
    assert table["sql"] == 'VACUUM (ANALYZE, SKIP_LOCKED) "public"."orders"'
    assert result["sql"] == ["SET lock_timeout = '5s'", "SET statement_timeout = '0'",
                             "SET client_connection_check_interval = '2s'", table["sql"]]
    assert result["dead_tuples_removed"] == 18000
    assert pgserver.table_stats(conn, "orders")["dead"] == 0
    assert pgserver.table_stats(conn, "customers") == untouched
    assert [(entry["target"], entry["status"]) for entry in result["upkeep_results"]] == [
        (db + "/public.orders", "changed")]

    again = run_module("postgresql_vacuum", env=pg_driver, **vacuum_options(pg_server, db))
    assert again["rc"] == 0 and again["changed"] is False and again["tables"] == []
    assert again["upkeep_results"][0]["status"] == "ok"


def test_check_mode_returns_the_plan_and_runs_nothing(run_module, pg_server, pg_db):
    db, conn = pg_db
    pgserver.make_bloated_table(conn, "orders")

    result = run_module("postgresql_vacuum", check_mode=True, **vacuum_options(pg_server, db))

    assert result["rc"] == 0 and result["changed"] is True
    assert [table["name"] for table in result["tables"]] == ["orders"]
    assert result["tables"][0]["dead_tuples_after"] == result["tables"][0]["dead_tuples_before"]
    assert result["upkeep_results"][0]["summary"].startswith("would VACUUM ANALYZE")
    stats = pgserver.table_stats(conn, "orders")
    assert stats["vacuum_count"] == 0 and stats["dead"] == 18000


def test_listed_tables_are_quoted_by_the_driver_and_unknown_names_fail_before_anything_runs(run_module, pg_server, pg_db):
    db, conn = pg_db
    hostile = 'x"; DROP TABLE t; --'
    conn.execute('CREATE TABLE t (id int)')
    conn.execute('CREATE TABLE "x""; DROP TABLE t; --" (id int)')

    result = run_module("postgresql_vacuum", **vacuum_options(pg_server, db, tables=[hostile, "public.t"]))
    assert result["rc"] == 0, result
    assert [table["name"] for table in result["tables"]] == [hostile, "t"]
    assert result["tables"][0]["sql"] == 'VACUUM (ANALYZE, SKIP_LOCKED) "public"."x""; DROP TABLE t; --"'
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)

    missing = run_module("postgresql_vacuum", **vacuum_options(pg_server, db, tables=["t", "nope", "other.t"]))
    assert missing["rc"] == 1
    assert missing["msg"] == "tables not found in database %s: nope, other.t" % db
    assert pgserver.table_stats(conn, "t")["vacuum_count"] == 1


def test_a_locked_table_is_skipped_at_once_or_after_lock_timeout_never_waited_for(run_module, pg_server, pg_db, pg_driver):
    db, conn = pg_db
    pgserver.make_bloated_table(conn, "orders")
    lock = "LOCK TABLE orders IN SHARE ROW EXCLUSIVE MODE"

    with pgserver.transaction_held(pg_server, db, lock):
        skipped = run_module("postgresql_vacuum", env=pg_driver, **vacuum_options(pg_server, db))
    [table] = skipped["tables"]
    assert skipped["rc"] == 0 and skipped["changed"] is False
    assert table["skipped"] is True and "locked by another session" in table["skip_reason"]
    assert table["dead_tuples_after"] == 18000 and table["duration"] < 1
    assert skipped["upkeep_results"][0]["status"] == "warning"

    with pgserver.transaction_held(pg_server, db, lock):
        waited = run_module("postgresql_vacuum", env=pg_driver, **vacuum_options(
            pg_server, db, skip_locked=False, lock_timeout="300ms"))
    [table] = waited["tables"]
    assert waited["rc"] == 0 and table["skipped"] is True
    assert table["skip_reason"].startswith("lock not available within lock_timeout")
    assert 0.3 <= table["duration"] < 2
    assert pgserver.table_stats(conn, "orders")["vacuum_count"] == 0


def test_vacuum_full_never_queues_the_application_behind_its_exclusive_lock(run_module, pg_server, pg_db):
    db, conn = pg_db
    pgserver.make_bloated_table(conn, "orders")

    with pgserver.transaction_held(pg_server, db, "SELECT count(*) FROM orders"):
        result = run_module("postgresql_vacuum", **vacuum_options(
            pg_server, db, tables=["orders"], full=True, skip_locked=False, lock_timeout="500ms"))
        # The application's next query on the table is answered at once: nothing is queued in front of it.
        with pg_server.connect(db) as reader:
            reader.execute("SET lock_timeout = '1s'")
            reader.execute("SELECT count(*) FROM orders").fetchone()
    assert result["tables"][0]["skipped"] is True and result["tables"][0]["action"] == "vacuum full analyze"

    rewritten = run_module("postgresql_vacuum", **vacuum_options(pg_server, db, tables=["orders"], full=True))
    [table] = rewritten["tables"]
    assert rewritten["changed"] is True and table["skipped"] is False
    assert table["size_after"] < table["size_before"] / 5


def test_full_by_bloat_rewrites_only_tables_over_the_ratio(run_module, pg_server, pg_db):
    db, conn = pg_db
    pgserver.make_bloated_table(conn, "orders", keep_fraction=0.1)
    pgserver.make_bloated_table(conn, "lines", keep_fraction=0.8)

    result = run_module("postgresql_vacuum", **vacuum_options(
        pg_server, db, full=True, full_min_bloat_ratio=3.0, min_dead_ratio=0.1))

    actions = dict((table["name"], table["action"]) for table in result["tables"])
    assert actions == {"orders": "vacuum full analyze", "lines": "vacuum analyze"}, result["tables"]


def test_an_open_snapshot_keeps_dead_tuples_and_the_result_says_so(run_module, pg_server, pg_db):
    db, conn = pg_db
    conn.execute("CREATE TABLE other (id int)")
    with pgserver.transaction_held(pg_server, db, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ",
                                   "SELECT count(*) FROM other"):
        pgserver.make_bloated_table(conn, "orders")
        result = run_module("postgresql_vacuum", **vacuum_options(pg_server, db))
    [table] = result["tables"]
    assert table["skipped"] is False and table["dead_tuples_after"] == 18000


def test_analyze_alone_for_modified_tables_and_jobs_share_the_work(run_module, pg_server, pg_db):
    db, conn = pg_db
    for name in ("a", "b", "c"):
        pgserver.make_bloated_table(conn, name)
    conn.execute("CREATE TABLE grown (id int)")
    conn.execute("INSERT INTO grown SELECT generate_series(1, 500)")
    pgserver.wait_for_statistics(conn, "grown", "n_mod_since_analyze", 500)

    result = run_module("postgresql_vacuum", **vacuum_options(pg_server, db, jobs=2, min_modified_ratio=0.1))

    actions = dict((table["name"], table["action"]) for table in result["tables"])
    assert actions == {"a": "vacuum analyze", "b": "vacuum analyze", "c": "vacuum analyze", "grown": "analyze"}
    assert [table["sql"] for table in result["tables"] if table["name"] == "grown"] == ['ANALYZE (SKIP_LOCKED) "public"."grown"']
    assert all(pgserver.table_stats(conn, name)["dead"] == 0 for name in ("a", "b", "c"))
    assert pgserver.table_stats(conn, "grown")["analyze_count"] == 1


def test_bad_inputs_fail_with_one_line(run_module, pg_server, pg_db, pg_driver, tmp_path):
    db, _conn = pg_db

    # The server's own words are in its language; what the module says around them is not.
    wrong = run_module("postgresql_vacuum", env=pg_driver, **dict(pg_server.login(db), login_password="wrong"))
    assert wrong["rc"] == 1 and wrong["msg"].startswith("cannot connect to database %s as postgres on 127.0.0.1" % db)
    assert "password authentication failed for user" in wrong["msg"] if pg_server.english else "Passwort" in wrong["msg"]
    assert "wrong" not in wrong["msg"] and "\n" not in wrong["msg"]

    missing_db = run_module("postgresql_vacuum", env=pg_driver, **pg_server.login("nope"))
    assert missing_db["rc"] == 1 and missing_db["msg"].startswith("cannot connect to database nope as postgres")
    assert ('database "nope" does not exist' if pg_server.english else "nope") in missing_db["msg"]

    refused = run_module("postgresql_vacuum", env=pg_driver, **dict(pg_server.login(db), login_port=pgserver.free_port()))
    assert refused["rc"] == 1 and "Connection refused" in refused["msg"] and "\n" not in refused["msg"]

    newer = run_module("postgresql_vacuum", **dict(pg_server.login(db), buffer_usage_limit="256kB"))
    if pg_server.version < 16:
        assert newer["rc"] == 1
        assert newer["msg"].startswith("buffer_usage_limit needs PostgreSQL 16 or newer (the server runs %d." % pg_server.version)
    else:
        assert newer["rc"] == 0

    # Conflicts are refused before any connection: the port is closed, yet the message is about the options.
    unchecked = run_module("postgresql_vacuum", **dict(pg_server.login(db), login_port=pgserver.free_port(), full=True))
    assert unchecked["rc"] == 1 and unchecked["msg"].startswith("full rewrites tables under an exclusive lock")

    bad_timeout = run_module("postgresql_vacuum", **dict(pg_server.login(db), lock_timeout="soon"))
    assert bad_timeout["rc"] == 1 and "soon" in bad_timeout["msg"] and "lock_timeout" in bad_timeout["msg"]

    no_driver = run_module("postgresql_vacuum", env=dict(PYTHONPATH=hide_modules(tmp_path / "no-drivers", "psycopg", "psycopg2")),
                           **pg_server.login(db))
    assert no_driver["rc"] == 1 and "psycopg (version 3) or psycopg2" in no_driver["msg"]
