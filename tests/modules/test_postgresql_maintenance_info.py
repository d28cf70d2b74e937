"""postgresql_maintenance_info against a real PostgreSQL server."""

import json
import threading
import time

import pytest

import pgserver


def findings(result, check):
    return [(entry["target"], entry["status"]) for entry in result["findings"] if entry["check"] == check]


def test_reports_dead_tuples_bloat_and_unused_indexes_of_the_database(run_module, pg_server, pg_db, pg_driver):
    db, conn = pg_db
    pgserver.make_bloated_table(conn, "orders", rows=40000, keep_fraction=0.1)
    conn.execute("VACUUM ANALYZE orders")
    pgserver.make_clean_table(conn, "customers")

    result = run_module("postgresql_maintenance_info", env=pg_driver, bloat_min_bytes=0, unused_index_min_bytes=0,
                        **pg_server.login(db))

    assert result["rc"] == 0 and result["changed"] is False, result
    tables = dict((table["name"], table) for table in result["tables"])
    assert set(tables) == {"orders", "customers"}
    assert tables["orders"]["dead_tuples"] == 0 and tables["orders"]["last_vacuum_age"] < 60
    assert tables["orders"]["bloat_ratio"] >= 5 and tables["orders"]["bloat_method"] == "estimate"
    assert tables["customers"]["bloat_ratio"] < 1.5
    assert findings(result, "postgresql_bloat")[0] == (db + "/public.orders", "warning")
    assert (db + "/public.customers", "warning") not in findings(result, "postgresql_bloat")
    assert [index["name"] for index in result["unused_indexes"]] == ["orders_updated_idx"]
    assert findings(result, "postgresql_unused_index") == [(db + "/public.orders_updated_idx", "warning")]
    health = result["upkeep_results"][0]
    assert health["check"] == "postgresql_health" and health["target"] == db and health["status"] == "ok"
    assert health["metrics"]["tables"] == 2 and health["metrics"]["size_bytes"] > 0
    assert result["upkeep_results"][1:] == result["findings"]
    assert any(database["name"] == db for database in result["databases"])

    # pgstattuple measures only what the statistics cannot estimate (test_postgresql_hostile.py says why).
    conn.execute("CREATE EXTENSION pgstattuple")
    conn.execute("CREATE TABLE unanalyzed AS SELECT * FROM orders")
    conn.execute("DELETE FROM unanalyzed WHERE id % 2 = 0")
    conn.execute("VACUUM unanalyzed")
    measured = run_module("postgresql_maintenance_info", bloat_min_bytes=0, **pg_server.login(db))
    methods = dict((table["name"], (table["bloat_method"], table["bloat_ratio"])) for table in measured["tables"])
    assert methods["orders"][0] == "estimate" and methods["orders"][1] >= 5
    assert methods["unanalyzed"][0] == "pgstattuple" and methods["unanalyzed"][1] >= 1.5


def test_sessions_are_reported_without_the_values_in_their_queries(run_module, pg_server, pg_db):
    db, conn = pg_db
    conn.execute("CREATE TABLE accounts (id int, secret text)")
    conn.execute("INSERT INTO accounts VALUES (1, 'old')")
    sleeping = threading.Event()

    def long_query():
        with pg_server.connect(db) as runner:
            sleeping.set()
            runner.execute("SELECT pg_sleep(3), 'sleeping-secret'")

    query = threading.Thread(target=long_query)
    with pgserver.transaction_held(pg_server, db, "UPDATE accounts SET secret = 'hunter2-topsecret' WHERE id = 1"):
        query.start()
        assert sleeping.wait(10)
        time.sleep(1)
        result = run_module("postgresql_maintenance_info", long_query_seconds=0.5, idle_in_transaction_seconds=0.5,
                            **pg_server.login(db))
    query.join()

    states = sorted(session["state"] for session in result["sessions"])
    assert states == ["active", "idle in transaction"], result["sessions"]
    queries = dict((session["state"], session["query"]) for session in result["sessions"])
    assert queries["idle in transaction"] == "UPDATE accounts SET secret = '?' WHERE id = 1"
    assert queries["active"] == "SELECT pg_sleep(3), '?'"
    assert sorted(entry["check"] for entry in result["findings"]) == [
        "postgresql_idle_in_transaction", "postgresql_long_query"]
    assert "topsecret" not in json.dumps(result) and "sleeping-secret" not in json.dumps(result)


def test_thresholds_set_the_severity_and_fail_on_fails_the_task(run_module, pg_server, pg_db):
    db, _conn = pg_db
    options = dict(pg_server.login(db), connections_warning=0.01, connections_critical=0.5,
                   wraparound_warning=0.0, wraparound_critical=1.0)

    result = run_module("postgresql_maintenance_info", **options)
    assert result["rc"] == 0
    assert findings(result, "postgresql_connections") == [(db, "warning")]
    assert (db, "warning") in findings(result, "postgresql_wraparound")

    failed = run_module("postgresql_maintenance_info", fail_on="warning", **options)
    assert failed["rc"] == 1 and "connections in use" in failed["msg"]

    inverted = run_module("postgresql_maintenance_info", **dict(options, connections_critical=0.001))
    assert inverted["rc"] == 1 and inverted["msg"] == "connections_warning must not be above connections_critical"


@pytest.fixture(scope="module")
def archiving_server():
    """A server whose WAL archiving fails, with a replication slot nobody consumes."""
    server = pgserver.Server(settings=dict(wal_level="replica", archive_mode="on", archive_command="'/bin/false'")).start()
    yield server
    server.stop()


def test_failing_archiver_and_an_abandoned_slot_are_findings(run_module, archiving_server):
    archiving_server.sql("SELECT pg_create_physical_replication_slot('abandoned', true)")
    archiving_server.sql("CREATE TABLE filler AS SELECT generate_series(1, 20000) AS id")
    archiving_server.sql("SELECT pg_switch_wal()")
    deadline = time.monotonic() + 30
    while archiving_server.sql("SELECT failed_count FROM pg_stat_archiver")[0][0] == 0:
        assert time.monotonic() < deadline, "the archiver never tried"
        time.sleep(0.2)

    result = run_module("postgresql_maintenance_info", slot_retained_bytes=1024, **archiving_server.login())

    assert result["archiver"]["failing"] is True and result["archiver"]["mode"] == "on"
    assert findings(result, "postgresql_archiver") == [("postgres", "critical")]
    assert result["replication"]["slots"][0]["name"] == "abandoned"
    assert findings(result, "postgresql_replication_slot") == [("postgres/abandoned", "warning")]
