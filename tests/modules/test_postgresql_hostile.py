"""The PostgreSQL modules where independent testing found them wrong: an invalid index with pgstattuple installed,
more jobs than the server has connections, bloat figures against freshly rebuilt copies, a module killed while its
backend waits, and a password that must not reach the output of a failing run."""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

import pgserver
from tarpit import Tarpit

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def invalid_index(conn, table="orders"):
    """An invalid index, as a failed CREATE UNIQUE INDEX CONCURRENTLY leaves it."""
    conn.execute("INSERT INTO %s SELECT -id, body, 7 FROM %s WHERE id <= 2" % (table, table))
    conn.execute("UPDATE %s SET updated = 7 WHERE id IN (-1, -2)" % table)
    with pytest.raises(Exception):
        conn.execute("CREATE UNIQUE INDEX CONCURRENTLY orders_unique_updated ON %s (updated)" % table)
    return "orders_unique_updated"


def test_an_invalid_index_is_a_finding_and_stops_no_module_with_pgstattuple_installed(run_module, pg_server, pg_db):
    db, conn = pg_db
    conn.execute("CREATE EXTENSION pgstattuple")
    pgserver.make_bloated_table(conn, "orders", rows=40000, keep_fraction=0.2)
    conn.execute("VACUUM ANALYZE orders")
    name = invalid_index(conn)
    login = pg_server.login(db)

    info = run_module("postgresql_maintenance_info", bloat_min_bytes=0, fail_on="never", **login)
    assert info["rc"] == 0, info["msg"]
    findings = dict((entry["target"], entry) for entry in info["findings"] if entry["check"] == "postgresql_invalid_index")
    assert list(findings) == ["%s/public.%s" % (db, name)] and findings["%s/public.%s" % (db, name)]["status"] == "warning"
    assert [index["bloat_method"] for index in info["indexes"] if index["name"] == "orders_updated_idx"] == ["estimate"]

    reindex = run_module("postgresql_reindex", min_bloat_ratio=1.5, min_bloat_bytes=0, **login)
    assert reindex["rc"] == 0, reindex["msg"]
    assert "orders_updated_idx" in [index["name"] for index in reindex["indexes"]]
    assert name not in [index["name"] for index in reindex["indexes"]]

    vacuum = run_module("postgresql_vacuum", full=True, full_min_bloat_ratio=50, **login)
    assert vacuum["rc"] == 0, vacuum["msg"]


def test_jobs_never_take_the_connections_the_application_needs(run_module, pg_server, pg_db):
    db, conn = pg_db
    for number in range(8):
        pgserver.make_bloated_table(conn, "t%d" % number, rows=3000, keep_fraction=0.5)
    # The application holds connections, leaving six slots for ordinary roles (max_connections 40, 3 reserved).
    free_before = conn.execute(
        "SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int"
        " - (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')").fetchone()[0]
    held = [pg_server.connect(db) for _index in range(free_before - 6)]
    try:
        result = run_module("postgresql_vacuum", jobs=1000, **pg_server.login(db))
        assert result["rc"] == 0, result["msg"]
        # The module's own session takes one of the six; of the five left, it uses two more and leaves three.
        assert result["jobs"] == 3
        assert len(result["tables"]) == 8 and all(not table["skipped"] for table in result["tables"])
        application = [pg_server.connect(db) for _index in range(3)]  # still there for the application
        for extra in application:
            extra.close()
    finally:
        for extra in held:
            extra.close()


def rebuilt_ratios(conn, table, column):
    """The real bloat of a table and of its index on column: their sizes against a fresh copy of the same rows."""
    conn.execute("CREATE TABLE rebuilt AS SELECT * FROM %s" % table)
    conn.execute("CREATE INDEX rebuilt_idx ON rebuilt (%s)" % column)
    table_ratio = conn.execute("SELECT pg_relation_size('%s')::float8 / pg_relation_size('rebuilt')" % table).fetchone()[0]
    index_ratio = conn.execute(
        "SELECT pg_relation_size(i.indexrelid)::float8 / pg_relation_size('rebuilt_idx') FROM pg_index i"
        " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]"
        " WHERE i.indrelid = '%s'::regclass AND a.attname = '%s'" % (table, column)).fetchone()[0]
    conn.execute("DROP TABLE rebuilt")
    return table_ratio, index_ratio


@pytest.mark.parametrize("statistics", [True, False], ids=["catalog", "pgstattuple"])
def test_bloat_figures_match_a_freshly_rebuilt_copy(run_module, pg_server, pg_db, statistics):
    """With column statistics the catalog estimate is used, pgstattuple or not; without them (a table never
    analyzed), pgstattuple measures."""
    db, conn = pg_db
    conn.execute("CREATE EXTENSION pgstattuple")
    pgserver.make_bloated_table(conn, "orders", rows=60000, keep_fraction=0.25)
    conn.execute("VACUUM ANALYZE orders")
    table_ratio, index_ratio = rebuilt_ratios(conn, "orders", "updated")
    _same_table, key_ratio = rebuilt_ratios(conn, "orders", "id")
    assert table_ratio > 3 and index_ratio > 1.5, (table_ratio, index_ratio)
    if not statistics:
        conn.execute("DELETE FROM pg_statistic WHERE starelid = 'orders'::regclass")
    info = run_module("postgresql_maintenance_info", bloat_min_bytes=0, fail_on="never", **pg_server.login(db))
    [table] = [row for row in info["tables"] if row["name"] == "orders"]
    indexes = dict((row["name"], row) for row in info["indexes"])
    assert table["bloat_method"] == ("estimate" if statistics else "pgstattuple")
    assert abs(table["bloat_ratio"] - table_ratio) / table_ratio < (0.05 if statistics else 0.15), (table, table_ratio)
    assert abs(indexes["orders_pkey"]["bloat_ratio"] - key_ratio) / key_ratio < (0.05 if statistics else 0.15)
    if statistics:
        assert abs(indexes["orders_updated_idx"]["bloat_ratio"] - index_ratio) / index_ratio < 0.10, (
            indexes["orders_updated_idx"], index_ratio)


def test_the_work_of_a_killed_module_stops_on_the_server(pg_server, pg_db, collections_path):
    if pg_server.version < 14:
        pytest.skip("client_connection_check_interval needs PostgreSQL 14")
    db, conn = pg_db
    pgserver.make_bloated_table(conn, "orders", rows=5000)
    arguments = dict(pg_server.login(db), tables=["orders"], full=True, skip_locked=False, lock_timeout="0")
    with pgserver.transaction_held(pg_server, db, "SELECT count(*) FROM orders"):
        module = subprocess.Popen(
            [sys.executable, "-m", "ansible_collections.upkeep.maintenance.plugins.modules.postgresql_vacuum"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=dict(os.environ, PYTHONPATH=collections_path))
        module.stdin.write(json.dumps({"ANSIBLE_MODULE_ARGS": arguments}).encode())
        module.stdin.close()
        waiting = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'upkeep.maintenance' AND wait_event_type = 'Lock'"
        deadline = time.monotonic() + 20
        while conn.execute(waiting).fetchone()[0] == 0:
            assert time.monotonic() < deadline, "the module's VACUUM FULL never queued for its lock"
            time.sleep(0.1)
        module.send_signal(signal.SIGKILL)
        module.wait()
        killed = time.monotonic()
        gone = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'upkeep.maintenance'"
        while conn.execute(gone).fetchone()[0]:
            assert time.monotonic() - killed < 6, "the server kept working for a client that is gone"
            time.sleep(0.2)


def test_a_failing_login_of_the_role_prints_no_password_at_the_highest_verbosity(
        pg_server, pg_db, collections_path, tmp_path):
    db, _conn = pg_db
    secret = "Wr0ng-but-S3cret-Passw0rd"
    playbook = tmp_path / "play.yml"
    playbook.write_text(json.dumps([dict(
        name="PostgreSQL", hosts="localhost", connection="local", gather_facts=False,
        vars=dict(ansible_python_interpreter=sys.executable, postgresql_login_host="127.0.0.1",
                  postgresql_login_port=pg_server.port, postgresql_login_password=secret,
                  postgresql_databases=[dict(db=db)]),
        roles=["upkeep.maintenance.postgresql"])]))
    process = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-vvvv", "-i",
                              "localhost,", str(playbook)], capture_output=True, text=True, check=False,
                             env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path, ANSIBLE_NOCOLOR="1"))
    assert process.returncode == 2 and "cannot connect to database %s" % db in process.stdout
    assert secret not in process.stdout + process.stderr


# Silent: accepts and never answers. Trickling: refuses SSL ("N"), then starts an error message of 10,000
# bytes and sends them one at a time.
@pytest.mark.parametrize("greeting, trickle", [(b"", b""), (b"NE\x00\x00\x27\x10", b"S")], ids=["silent", "trickling"])
def test_a_server_that_never_finishes_its_handshake_holds_a_module_no_longer_than_connect_timeout(run_module, greeting,
                                                                                                  trickle):
    with Tarpit(greeting=greeting, trickle=trickle, interval=0.3) as tarpit:
        started = time.monotonic()
        result = run_module("postgresql_maintenance_info", login_host="127.0.0.1", login_port=tarpit.port,
                            login_password="x", connect_timeout=2)
        elapsed = time.monotonic() - started
    assert result["rc"] == 1 and result["msg"].startswith("cannot connect to database postgres")
    assert 2 <= elapsed < 2 + 1.5, (elapsed, result["msg"])


def relfilenode(conn, table):
    return conn.execute("SELECT relfilenode FROM pg_class WHERE oid = '%s'::regclass" % table).fetchone()[0]


def test_vacuum_full_keeps_to_its_size_limit_and_pg_repack_rewrites_online_under_load(run_module, pg_server, pg_db):
    db, conn = pg_db
    pgserver.make_bloated_table(conn, "orders", rows=60000, keep_fraction=0.2)
    conn.execute("CREATE TABLE keyless AS SELECT * FROM orders")
    login = pg_server.login(db)
    before = relfilenode(conn, "orders")

    refused = run_module("postgresql_vacuum", tables=["orders"], full=True, full_max_size="1M", **login)
    [table] = refused["tables"]
    assert refused["rc"] == 0 and refused["changed"] is False and table["method"] == "refused"
    assert "larger than full_max_size (1.0 MiB)" in table["skip_reason"] and relfilenode(conn, "orders") == before
    assert refused["upkeep_results"][0]["status"] == "warning"

    required = run_module("postgresql_vacuum", tables=["orders"], full=True, full_method="pg_repack", **login)
    assert required["rc"] == 1 and required["msg"] == "full_method pg_repack: CREATE EXTENSION pg_repack in database %s" % db

    conn.execute("CREATE EXTENSION pg_repack")
    writes, stop = [], threading.Event()

    def application():
        with pg_server.connect(db) as writer:
            number = 0
            while not stop.is_set():
                number += 1
                started = time.monotonic()
                writer.execute("UPDATE orders SET updated = updated + 1 WHERE id = %s", (number % 12000 * 5 + 1,))
                writes.append(time.monotonic() - started)

    load = threading.Thread(target=application)
    load.start()
    try:
        online = run_module("postgresql_vacuum", tables=["orders", "keyless"], full=True, full_max_size="1M",
                            full_method="pg_repack", lock_timeout="2s", **login)
    finally:
        stop.set()
        load.join()
    tables = dict((table["name"], table) for table in online["tables"])
    assert online["rc"] == 0, online["msg"]
    assert tables["orders"]["method"] == "pg_repack" and tables["orders"]["skipped"] is False
    assert tables["orders"]["size_after"] < tables["orders"]["size_before"] / 3 and relfilenode(conn, "orders") != before
    assert tables["keyless"]["method"] == "refused" and "needs a primary key" in tables["keyless"]["skip_reason"]
    assert pg_server.login(db)["login_password"] not in tables["orders"]["sql"]
    assert len(writes) > 50 and max(writes) < 1.0, (len(writes), max(writes))
