"""postgresql_reindex against a real PostgreSQL server."""

import threading
import time

import psycopg
import pytest

import pgserver


def bloated_index(conn):
    pgserver.make_bloated_table(conn, "orders", rows=40000, keep_fraction=0.1)
    conn.execute("VACUUM ANALYZE orders")


def index_size(conn, name):
    return conn.execute("SELECT pg_relation_size(%s::regclass)", (name,)).fetchone()[0]


def index_files(conn):
    """Each index of the public schema and the file it is stored in: a rebuilt index gets a new one."""
    return dict(conn.execute("SELECT c.relname, c.relfilenode FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                             "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'").fetchall())


def invalid_indexes(conn):
    return [row[0] for row in conn.execute(
        "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE NOT i.indisvalid ORDER BY 1")]


def test_rebuilds_bloated_indexes_concurrently_and_a_second_run_changes_nothing(run_module, pg_server, pg_db, pg_driver):
    db, conn = pg_db
    bloated_index(conn)
    pgserver.make_clean_table(conn, "customers")
    before = index_size(conn, "orders_updated_idx")

    result = run_module("postgresql_reindex", env=pg_driver, min_bloat_bytes=0, **pg_server.login(db))

    assert result["rc"] == 0 and result["changed"] is True, result
    names = [index["name"] for index in result["indexes"]]
    assert set(names) == {"orders_pkey", "orders_updated_idx"}
    rebuilt = next(index for index in result["indexes"] if index["name"] == "orders_updated_idx")
    assert rebuilt["size_before"] == before and rebuilt["size_after"] == index_size(conn, "orders_updated_idx")
    assert rebuilt["size_after"] < before / 3 and rebuilt["table"] == "orders"
    assert rebuilt["sql"] == 'REINDEX INDEX CONCURRENTLY "public"."orders_updated_idx"'
    assert result["bytes_reclaimed"] >= before - rebuilt["size_after"]
    assert {entry["status"] for entry in result["upkeep_results"]} == {"changed"}

    again = run_module("postgresql_reindex", env=pg_driver, min_bloat_bytes=0, **pg_server.login(db))
    assert again["rc"] == 0 and again["changed"] is False and again["indexes"] == []


def test_check_mode_lists_the_indexes_without_rebuilding(run_module, pg_server, pg_db):
    db, conn = pg_db
    bloated_index(conn)
    before = index_size(conn, "orders_updated_idx")

    result = run_module("postgresql_reindex", check_mode=True, min_bloat_bytes=0, **pg_server.login(db))

    assert result["changed"] is True and "orders_updated_idx" in [index["name"] for index in result["indexes"]]
    assert index_size(conn, "orders_updated_idx") == before


WRITER = "INSERT INTO orders VALUES (-1, 'held', 1)"


def test_leftovers_of_an_interrupted_concurrent_reindex_are_dropped_before_the_rebuild(run_module, pg_server, pg_db):
    db, conn = pg_db
    bloated_index(conn)
    with pgserver.transaction_held(pg_server, db, WRITER):
        conn.execute("SET lock_timeout = '300ms'")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            conn.execute("REINDEX INDEX CONCURRENTLY orders_updated_idx")
        conn.execute("RESET lock_timeout")
    assert invalid_indexes(conn) == ["orders_updated_idx_ccnew"]

    planned = run_module("postgresql_reindex", check_mode=True, indexes=["orders_updated_idx"], **pg_server.login(db))
    assert planned["msg"] == "would rebuild 1 index and drop 1 leftover", planned["msg"]
    assert invalid_indexes(conn) == ["orders_updated_idx_ccnew"]

    result = run_module("postgresql_reindex", indexes=["orders_updated_idx"], **pg_server.login(db))

    assert result["rc"] == 0, result
    assert result["leftovers_dropped"] == ["public.orders_updated_idx_ccnew"]
    assert result["sql"][3] == 'DROP INDEX CONCURRENTLY IF EXISTS "public"."orders_updated_idx_ccnew"'
    assert [index["name"] for index in result["indexes"]] == ["orders_updated_idx"]
    assert invalid_indexes(conn) == []


def test_a_rebuild_that_would_wait_gives_up_and_a_leftover_that_cannot_be_dropped_fails_the_task(run_module, pg_server, pg_db):
    db, conn = pg_db
    bloated_index(conn)
    with pgserver.transaction_held(pg_server, db, WRITER):
        waited = run_module("postgresql_reindex", indexes=["public.orders_updated_idx"], lock_timeout="300ms",
                            **pg_server.login(db))
    [index] = waited["indexes"]
    assert index["skipped"] is True and index["skip_reason"].startswith("lock not available within lock_timeout")
    # The invalid copy is still maintained on every write: the task fails and names it.
    assert waited["rc"] == 1 and waited["leftovers_remaining"] == ["public.orders_updated_idx_ccnew"]
    assert "invalid leftovers remain" in waited["msg"] and "orders_updated_idx_ccnew" in waited["msg"]
    assert [entry["status"] for entry in waited["upkeep_results"]] == ["warning", "failed"]
    assert "after 3 attempts" in waited["upkeep_results"][1]["summary"]

    retried = run_module("postgresql_reindex", indexes=["public.orders_updated_idx"], **pg_server.login(db))
    assert retried["leftovers_dropped"] == ["public.orders_updated_idx_ccnew"]
    assert retried["indexes"][0]["skipped"] is False and invalid_indexes(conn) == []


def test_the_leftover_is_dropped_by_a_later_attempt_once_the_application_lets_go(run_module, pg_server, pg_db):
    db, conn = pg_db
    bloated_index(conn)
    results = []
    with pgserver.transaction_held(pg_server, db, WRITER):
        runner = threading.Thread(target=lambda: results.append(run_module(
            "postgresql_reindex", indexes=["public.orders_updated_idx"], lock_timeout="300ms", **pg_server.login(db))))
        runner.start()
        time.sleep(1.2)  # the rebuild and the first DROP have given up by now; the second comes a second later
    runner.join()
    [result] = results
    assert result["rc"] == 0, result["msg"]
    assert result["indexes"][0]["skipped"] is True and result["leftovers_dropped"] == ["public.orders_updated_idx_ccnew"]
    assert result["leftovers_remaining"] == [] and invalid_indexes(conn) == []


def test_hostile_and_unknown_index_names(run_module, pg_server, pg_db):
    db, conn = pg_db
    conn.execute('CREATE TABLE t (id int)')
    conn.execute('CREATE INDEX "i""; DROP TABLE t; --" ON t (id)')

    result = run_module("postgresql_reindex", indexes=['i"; DROP TABLE t; --'], **pg_server.login(db))
    assert result["rc"] == 0 and result["indexes"][0]["sql"] == 'REINDEX INDEX CONCURRENTLY "public"."i""; DROP TABLE t; --"'
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)

    missing = run_module("postgresql_reindex", indexes=["t", "nope"], **pg_server.login(db))
    assert missing["rc"] == 1 and missing["msg"] == "indexes not found in database %s: t, nope" % db


def test_every_index_of_the_database_is_rebuilt_one_at_a_time_and_the_oids_show_it(run_module, pg_server, pg_db):
    db, conn = pg_db
    pgserver.make_clean_table(conn, "customers")
    bloated_index(conn)
    before = index_files(conn)

    result = run_module("postgresql_reindex", every_index=True, **pg_server.login(db))

    assert result["rc"] == 0 and result["changed"] is True, result
    assert sorted(index["name"] for index in result["indexes"]) == sorted(before)
    assert {index["reason"] for index in result["indexes"]} == {"every index"}
    # A rebuilt index is a new file: the server's catalog is the oracle.
    after = index_files(conn)
    assert sorted(after) == sorted(before) and all(after[name] != before[name] for name in before)
    assert invalid_indexes(conn) == []


def test_locks_waited_for_are_in_the_health_report_with_who_holds_them(run_module, pg_server, pg_db):
    db, conn = pg_db
    pgserver.make_clean_table(conn, "customers")
    # A long transaction holding SHARE (as CREATE INDEX does): the application's writes queue behind it, reads do not.
    holder = pg_server.connect(db)
    holder.autocommit = False
    holder.execute("LOCK TABLE customers IN SHARE MODE")
    holder_pid = holder.info.backend_pid
    writer = threading.Thread(target=lambda: pg_server.sql("UPDATE customers SET body = body", db=db), daemon=True)
    writer.start()
    try:
        time.sleep(1.5)
        report = run_module("postgresql_maintenance_info", lock_wait_seconds=1, **pg_server.login(db))
    finally:
        holder.rollback()
        holder.close()
        writer.join(10)
    assert report["rc"] == 0, report
    [wait] = report["lock_waits"]
    assert wait["blocked_by"] == [holder_pid] and wait["seconds"] >= 1
    [finding] = [entry for entry in report["upkeep_results"] if entry["check"] == "postgresql_lock_wait"]
    assert finding["status"] == "warning" and "held by pid %d" % holder_pid in finding["summary"]


def test_an_exclusive_lock_makes_the_health_report_give_up_with_a_message_not_hang(run_module, pg_server, pg_db):
    db, conn = pg_db
    pgserver.make_clean_table(conn, "customers")
    holder = pg_server.connect(db)
    holder.autocommit = False
    holder.execute("LOCK TABLE customers IN ACCESS EXCLUSIVE MODE")
    started = time.monotonic()
    try:
        report = run_module("postgresql_maintenance_info", lock_timeout="2s", **pg_server.login(db))
    finally:
        holder.rollback()
        holder.close()
    assert report["rc"] == 1 and time.monotonic() - started < 30
    assert "could not be read within lock_timeout 2s" in report["msg"]
