"""sqlite_vacuum against real database files."""

import os
import sqlite3
import subprocess
import time

import pytest


def test_bloated_database_is_compacted_and_second_run_changes_nothing(run_module, make_estate, tmp_path):
    db = make_estate.make_bloated(str(tmp_path / "app.db"))
    rows = make_estate.row_count(db)
    size = os.path.getsize(db)

    first = run_module("sqlite_vacuum", path=db)

    assert first["changed"] is True
    assert first["actions"][0] == "vacuum"
    assert first["size_before"] == size
    assert first["size_after"] == os.path.getsize(db) < size / 2
    assert first["freelist_before"] > 0 and first["freelist_after"] == 0
    assert first["bytes_reclaimed"] == size - first["size_after"]
    assert "VACUUM" in first["sql"]
    assert first["upkeep_results"][0]["status"] == "changed"
    assert make_estate.row_count(db) == rows

    second = run_module("sqlite_vacuum", path=db)
    assert second["changed"] is False, second
    assert second["actions"] == []
    assert second["upkeep_results"][0]["status"] == "ok"


def test_check_mode_predicts_without_touching_the_file(run_module, make_estate, tmp_path):
    db = make_estate.make_bloated(str(tmp_path / "app.db"))
    before = make_estate.sha256(db)

    planned = run_module("sqlite_vacuum", path=db, check_mode=True)

    assert planned["changed"] is True
    assert "vacuum" in planned["actions"]
    assert planned["size_after"] < planned["size_before"]
    assert planned["sql"] == []
    assert make_estate.sha256(db) == before
    done = run_module("sqlite_vacuum", path=db)
    assert done["actions"] == planned["actions"]


def test_thresholds_hold_back_vacuum_of_a_slightly_bloated_database(run_module, make_estate, tmp_path):
    db = make_estate.make_bloated(str(tmp_path / "app.db"), rows=4000, keep_fraction=0.95)

    result = run_module("sqlite_vacuum", path=db, min_freelist_ratio=0.5, analyze=False)

    assert result["vacuum_due"] is False
    assert result["changed"] is False
    assert result["freelist_after"] == result["freelist_before"] > 0


def test_vacuum_always_and_never(run_module, make_estate, tmp_path):
    db = make_estate.make_bloated(str(tmp_path / "app.db"))
    kept = run_module("sqlite_vacuum", path=db, vacuum="never", analyze=False)
    assert kept["changed"] is False and kept["freelist_after"] > 0
    forced = run_module("sqlite_vacuum", path=db, vacuum="always", min_freelist_ratio=0.99, analyze=False)
    assert forced["changed"] is True and forced["freelist_after"] == 0


def test_reindex_is_reported_as_a_change(run_module, make_estate, tmp_path):
    db = make_estate.make_database(str(tmp_path / "app.db"))
    result = run_module("sqlite_vacuum", path=db, reindex=True, analyze=False)
    assert result["changed"] is True
    assert result["actions"] == ["reindex"]
    assert "REINDEX" in result["sql"]


def test_statistics_are_kept_only_when_they_differ(run_module, make_estate, tmp_path):
    db = make_estate.make_database(str(tmp_path / "app.db"))
    first = run_module("sqlite_vacuum", path=db)
    assert first["statistics_changed"] is True
    assert first["actions"] == ["analyze"]
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM sqlite_stat1").fetchone()[0] > 0
    conn.close()

    unchanged_hash = make_estate.sha256(db)
    second = run_module("sqlite_vacuum", path=db)
    assert second["changed"] is False
    assert make_estate.sha256(db) == unchanged_hash


def test_wal_database_is_checkpointed_after_vacuum(run_module, make_estate, tmp_path):
    db = make_estate.make_bloated(str(tmp_path / "events.db"), journal_mode="wal")
    holder = sqlite3.connect(db)  # keeps the WAL from being folded in when other connections close
    holder.execute("SELECT count(*) FROM items").fetchall()
    try:
        result = run_module("sqlite_vacuum", path=db, checkpoint=True)
        assert result["changed"] is True
        assert "vacuum" in result["actions"]
        assert result["sql"].count("PRAGMA wal_checkpoint(TRUNCATE)") >= 1
        assert os.path.getsize(db + "-wal") == 0
        assert result["size_after"] == os.path.getsize(db) < result["size_before"]
    finally:
        holder.close()


def test_vacuum_beside_a_concurrent_writer_loses_no_committed_row(run_module, make_estate, tmp_path):
    db = make_estate.make_bloated(str(tmp_path / "live.db"), journal_mode="wal")
    rows_before = make_estate.row_count(db)
    writer = make_estate.start_writer(db, 3)
    time.sleep(0.3)

    result = run_module("sqlite_vacuum", path=db, busy_timeout=60)
    committed = int(writer.communicate(timeout=60)[0])

    assert result["rc"] == 0, result
    assert "vacuum" in result["actions"]
    assert committed > 0
    assert make_estate.row_count(db) == rows_before + committed


def test_corrupt_database_is_refused_before_any_rewrite(run_module, make_estate, tmp_path):
    db = make_estate.corrupt(make_estate.make_bloated(str(tmp_path / "app.db")), page=3)
    before = make_estate.sha256(db)

    result = run_module("sqlite_vacuum", path=db, vacuum="always", analyze=False)

    assert result["failed"] is True
    assert "refusing to rewrite a database that fails its integrity check" in result["msg"]
    assert result["integrity_errors"]
    assert make_estate.sha256(db) == before


def test_locked_database_fails_after_busy_timeout(run_module, make_estate, tmp_path):
    db = make_estate.make_bloated(str(tmp_path / "app.db"))
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        result = run_module("sqlite_vacuum", path=db, busy_timeout=1)
        elapsed = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result["failed"] is True
    assert "locked by another connection" in result["msg"]
    assert "busy_timeout" in result["msg"]
    assert elapsed < 20


def test_vacuum_fails_before_starting_when_the_disk_is_short(run_module, make_estate, tmp_path, tmpfs):
    small = tmpfs("16m")
    db = make_estate.make_bloated(str(small / "app.db"), rows=20000, keep_fraction=0.5)
    free = os.statvfs(str(small)).f_bavail * os.statvfs(str(small)).f_frsize
    (small / "filler").write_bytes(b"\0" * (free - 2 * 1024 * 1024))
    before = make_estate.sha256(db)

    result = run_module("sqlite_vacuum", path=db, env=dict(SQLITE_TMPDIR=str(small)))

    assert result["failed"] is True
    assert "not enough free space for VACUUM" in result["msg"]
    assert str(small) in result["msg"]
    assert make_estate.sha256(db) == before
    assert not os.path.exists(db + "-journal")


@pytest.mark.parametrize("kind, expected", [
    ("missing", "no such file"),
    ("folder", "is a folder"),
    ("text", "file is not a database"),
])
def test_unusable_paths_fail_with_one_clear_line(run_module, make_estate, tmp_path, kind, expected):
    path = tmp_path / "target.db"
    if kind == "folder":
        path.mkdir()
    elif kind == "text":
        make_estate.make_not_database(str(path))
    result = run_module("sqlite_vacuum", path=str(path))
    assert result["failed"] is True
    assert expected in result["msg"]
    assert "\n" not in result["msg"]
    assert kind != "missing" or not path.exists()


def test_negative_analysis_limit_is_refused(run_module, make_estate, tmp_path):
    db = make_estate.make_database(str(tmp_path / "app.db"))
    result = run_module("sqlite_vacuum", path=db, analysis_limit=-1)
    assert result["failed"] is True
    assert "analysis_limit" in result["msg"]


def test_the_journal_mode_is_checked_daily_set_weekly_and_then_left_alone(run_module, make_estate, tmp_path):
    db = make_estate.make_bloated(str(tmp_path / "orders.db"), rows=500, keep_fraction=1.0)
    checked = run_module("sqlite_check", path=db, journal_mode="wal")
    [mode] = [entry for entry in checked["upkeep_results"] if entry["check"] == "sqlite_journal_mode"]
    assert (mode["status"], mode["summary"]) == ("warning", "journal mode delete, wanted wal")

    planned = run_module("sqlite_vacuum", path=db, journal_mode="wal", analyze=False, check_mode=True)
    assert planned["changed"] is True and planned["actions"] == ["journal_mode"]
    assert "journal mode would be set to wal (now delete)" in planned["upkeep_results"][0]["summary"]
    assert subprocess.run(["sqlite3", db, "PRAGMA journal_mode;"], capture_output=True, text=True,
                          check=True).stdout.strip() == "delete"

    done = run_module("sqlite_vacuum", path=db, journal_mode="wal", analyze=False)
    assert done["changed"] is True and "PRAGMA journal_mode = WAL" in done["sql"]
    # The sqlite3 command, a separate connection, finds the mode stored in the file.
    assert subprocess.run(["sqlite3", db, "PRAGMA journal_mode;"], capture_output=True, text=True,
                          check=True).stdout.strip() == "wal"
    again = run_module("sqlite_vacuum", path=db, journal_mode="wal", analyze=False)
    assert again["changed"] is False and again["actions"] == []
    assert [entry["status"] for entry in run_module("sqlite_check", path=db, journal_mode="wal")["upkeep_results"]
            if entry["check"] == "sqlite_journal_mode"] == ["ok"]


def test_the_compacted_copy_is_built_in_memory_unless_asked_for_a_file(run_module, make_estate, tmp_path, tmpfs):
    # SQLite's temporary folder too small for the compacted copy: in memory VACUUM does not need it.
    small = tmpfs("1m")
    db = make_estate.make_bloated(str(tmp_path / "app.db"), rows=20000, keep_fraction=0.5)
    rows = make_estate.row_count(db)
    before = make_estate.sha256(db)

    on_file = run_module("sqlite_vacuum", path=db, vacuum_copy="file", env=dict(SQLITE_TMPDIR=str(small)))

    assert on_file["failed"] is True
    assert "not enough free space for VACUUM: %s needs" % small in on_file["msg"]
    assert make_estate.sha256(db) == before

    planned = run_module("sqlite_vacuum", path=db, check_mode=True, env=dict(SQLITE_TMPDIR=str(small)))
    in_memory = run_module("sqlite_vacuum", path=db, env=dict(SQLITE_TMPDIR=str(small)))

    assert planned["vacuum_copy"] == in_memory["vacuum_copy"] == "memory"
    assert in_memory["sql"][:2] == ["PRAGMA temp_store = MEMORY", "VACUUM"]
    assert in_memory["freelist_after"] == 0 and in_memory["size_after"] < in_memory["size_before"]
    assert make_estate.row_count(db) == rows
    assert os.listdir(str(small)) == []
    check = subprocess.run(["sqlite3", db, "PRAGMA integrity_check"], capture_output=True, text=True, check=True)
    assert check.stdout.strip() == "ok"
    assert run_module("sqlite_vacuum", path=db)["vacuum_copy"] is None
