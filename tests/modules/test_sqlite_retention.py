"""sqlite_retention against real database files, SQLite's own date arithmetic (the sqlite3 command) as the oracle."""

import hashlib
import sqlite3
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# How each cutoff format stores a moment, and SQLite's expression for "now minus the age" in that format.
FORMATS = {
    "datetime": ("datetime('now', '-%d days', '%+d hours')", "datetime('now', '-90 days')"),
    "iso8601": ("strftime('%%Y-%%m-%%dT%%H:%%M:%%SZ', 'now', '-%d days', '%+d hours')", "strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-90 days')"),
    "unix": ("CAST(strftime('%%s', 'now', '-%d days', '%+d hours') AS INTEGER)", "CAST(strftime('%s', 'now', '-90 days') AS INTEGER)"),
    "unix_ms": ("CAST(strftime('%%s', 'now', '-%d days', '%+d hours') AS INTEGER) * 1000", "CAST(strftime('%s', 'now', '-90 days') AS INTEGER) * 1000"),
    "julianday": ("julianday('now', '-%d days', '%+d hours')", "julianday('now', '-90 days')"),
}


def sqlite3_cli(db, sql):
    return subprocess.run(["sqlite3", db, sql], capture_output=True, text=True, check=True).stdout.strip()


def events_database(path, cutoff_format, ages):
    """A table of events aged as given (days, hours), stored in the format."""
    stored = FORMATS[cutoff_format][0]
    sqlite3_cli(path, "CREATE TABLE events (id INTEGER PRIMARY KEY, created_at, payload TEXT);")
    values = ", ".join("(%s, 'x')" % (stored % (days, hours)) for days, hours in ages)
    if values:
        sqlite3_cli(path, "INSERT INTO events (created_at, payload) VALUES %s;" % values)
    return path


def sha256(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


@pytest.mark.parametrize("cutoff_format", sorted(FORMATS))
def test_rows_older_than_the_age_go_as_sqlite_counts_them_and_a_second_run_deletes_none(run_module, tmp_path, cutoff_format):
    db = events_database(str(tmp_path / "app.db"), cutoff_format, [(days, 0) for days in range(1, 200, 3)] + [(89, 0), (90, -1), (90, 1)])
    expected = int(sqlite3_cli(db, "SELECT count(*) FROM events WHERE created_at < %s;" % FORMATS[cutoff_format][1]))
    total = int(sqlite3_cli(db, "SELECT count(*) FROM events;"))
    rule = dict(name="events older than 90 days", sql="DELETE FROM events WHERE created_at < :cutoff", age="90d",
                cutoff_format=cutoff_format)

    first = run_module("sqlite_retention", path=db, statements=[rule])

    assert first["rc"] == 0 and first["changed"] is True, first
    assert first["deleted"] == {"events older than 90 days": expected} and 0 < expected < total
    assert int(sqlite3_cli(db, "SELECT count(*) FROM events;")) == total - expected
    [entry] = first["upkeep_results"]
    assert (entry["check"], entry["status"], entry["metrics"]["rows_deleted"]) == ("sqlite_retention", "changed", expected)
    second = run_module("sqlite_retention", path=db, statements=[rule])
    assert second["changed"] is False and second["deleted"] == {"events older than 90 days": 0}
    assert second["upkeep_results"][0]["status"] == "ok"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ages=st.lists(st.tuples(st.integers(0, 400), st.integers(-23, 23)), max_size=30),
       days=st.integers(1, 365))
def test_any_estate_and_age_delete_exactly_what_sqlite_says_is_older(run_module, tmp_path_factory, ages, days):
    db = events_database(str(tmp_path_factory.mktemp("retention") / "app.db"), "datetime", ages)
    older = int(sqlite3_cli(db, "SELECT count(*) FROM events WHERE created_at < datetime('now', '-%d days');" % days))
    result = run_module("sqlite_retention", path=db, statements=[dict(
        name="old", sql="DELETE FROM events WHERE created_at < :cutoff", age="%dd" % days)])
    # Rows stamped within the second the module and the oracle ran in may fall either side.
    assert abs(result["deleted"]["old"] - older) <= sum(1 for day, hour in ages if day == days and hour == 0)
    assert int(sqlite3_cli(db, "SELECT count(*) FROM events;")) == len(ages) - result["deleted"]["old"]


def test_check_mode_counts_exactly_and_leaves_the_file_as_it_was(run_module, tmp_path):
    db = events_database(str(tmp_path / "app.db"), "datetime", [(days, 0) for days in range(120) if days != 90])
    before = sha256(db)
    planned = run_module("sqlite_retention", path=db, check_mode=True, statements=[dict(
        name="old", sql="DELETE FROM events WHERE created_at < :cutoff", age="90d")])
    assert planned["changed"] is True and planned["deleted"] == {"old": 29}
    assert planned["upkeep_results"][0]["summary"] == "would delete 29 rows older than 90d"
    assert sha256(db) == before


def test_a_rule_over_its_guard_deletes_nothing_of_any_rule_and_is_critical(run_module, tmp_path):
    db = events_database(str(tmp_path / "app.db"), "datetime", [(days, 0) for days in range(200) if days != 90])
    sqlite3_cli(db, "CREATE TABLE sessions (id INTEGER PRIMARY KEY, seen_at TEXT);"
                    "INSERT INTO sessions (seen_at) VALUES (datetime('now', '-40 days')), (datetime('now'));")
    before = sha256(db)
    result = run_module("sqlite_retention", path=db, statements=[
        dict(name="sessions", sql="DELETE FROM sessions WHERE seen_at < :cutoff", age="30d"),
        dict(name="events", sql="DELETE FROM events WHERE created_at < :cutoff", age="90d", max_rows=50)])
    assert result["rc"] == 0 and result["changed"] is False
    statuses = dict((entry["target"].split(" ", 1)[1], entry["status"]) for entry in result["upkeep_results"])
    assert statuses == {"sessions": "ok", "events": "critical"}
    assert "would delete 109 rows, more than its max_rows 50" in result["upkeep_results"][1]["summary"]
    assert sha256(db) == before


@pytest.mark.parametrize("sql, reason", [
    ("DROP TABLE events", "only a DELETE statement"),
    ("UPDATE events SET payload = '' WHERE created_at < :cutoff", "only a DELETE statement"),
    ("DELETE FROM events", "must compare with :cutoff"),
    ("DELETE FROM events WHERE created_at < :cutoff; DROP TABLE events", "one statement only"),
    ("-- tidy up\n/* old */ DELETE FROM events WHERE payload = ';' AND created_at < ':cutoff'", None),
])
def test_only_one_delete_using_the_cutoff_is_run_and_others_are_refused_before_the_database_is_opened(run_module, tmp_path,
                                                                                                      sql, reason):
    missing = str(tmp_path / "absent.db")
    result = run_module("sqlite_retention", path=missing, statements=[dict(name="rule", sql=sql, age="30d")])
    assert result["rc"] == 1
    assert (reason or "no such file") in result["msg"], result["msg"]


def test_foreign_keys_cascade_as_declared_and_a_referenced_row_stops_the_deletion(run_module, tmp_path):
    db = str(tmp_path / "orders.db")
    sqlite3_cli(db, """
        CREATE TABLE orders (id INTEGER PRIMARY KEY, closed_at TEXT);
        CREATE TABLE lines (id INTEGER PRIMARY KEY, order_id INTEGER REFERENCES orders(id) ON DELETE CASCADE);
        CREATE TABLE invoices (id INTEGER PRIMARY KEY, order_id INTEGER REFERENCES orders(id));
        INSERT INTO orders VALUES (1, datetime('now', '-400 days')), (2, datetime('now', '-400 days')), (3, datetime('now'));
        INSERT INTO lines (order_id) VALUES (1), (1), (2), (3);""")
    rule = dict(name="closed orders", sql="DELETE FROM orders WHERE closed_at < :cutoff", age="365d")
    done = run_module("sqlite_retention", path=db, statements=[rule])
    assert done["deleted"] == {"closed orders": 2}
    assert sqlite3_cli(db, "SELECT group_concat(order_id) FROM lines;") == "3", "the lines of deleted orders were left orphans"

    sqlite3_cli(db, "INSERT INTO orders VALUES (4, datetime('now', '-400 days')); INSERT INTO invoices (order_id) VALUES (4);")
    before = sha256(db)
    refused = run_module("sqlite_retention", path=db, statements=[rule])
    assert refused["rc"] == 1 and "FOREIGN KEY constraint failed" in refused["msg"], refused
    assert sha256(db) == before


def test_a_locked_database_fails_after_the_busy_timeout_with_a_message(run_module, tmp_path):
    db = events_database(str(tmp_path / "app.db"), "datetime", [(100, 0)])
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        result = run_module("sqlite_retention", path=db, busy_timeout=0.5, statements=[dict(
            name="old", sql="DELETE FROM events WHERE created_at < :cutoff", age="90d")])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result["rc"] == 1 and "locked" in result["msg"]
