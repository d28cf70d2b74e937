"""sqlite_backup: consistent copies and verified restores on real files."""

import os
import sqlite3
import stat
import subprocess
import time


def test_backup_into_a_folder_is_private_checksummed_and_deduplicated(run_module, make_estate, tmp_path):
    db = make_estate.make_database(str(tmp_path / "app.db"))
    dest = tmp_path / "backups" / "app"

    first = run_module("sqlite_backup", path=db, dest=str(dest) + "/")

    assert first["changed"] is True
    backup = first["backup"]
    assert os.path.dirname(backup) == str(dest)
    assert os.path.basename(backup).startswith("app-") and backup.endswith(".db")
    assert stat.S_IMODE(os.stat(backup).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(str(dest)).st_mode) == 0o700
    subprocess.run(["sha256sum", "-c", "--strict", os.path.basename(backup) + ".sha256"], cwd=str(dest), check=True,
                   capture_output=True)
    assert first["checksum"] == make_estate.sha256(backup)
    assert make_estate.row_count(backup) == make_estate.row_count(db)
    assert sorted(os.listdir(str(dest))) == sorted([os.path.basename(backup), os.path.basename(backup) + ".sha256"])

    second = run_module("sqlite_backup", path=db, dest=str(dest))
    assert second["changed"] is False
    assert second["backup"] == backup
    assert len(os.listdir(str(dest))) == 2


def test_backup_to_a_file_with_a_mode(run_module, make_estate, tmp_path):
    db = make_estate.make_database(str(tmp_path / "app.db"))
    dest = str(tmp_path / "app-latest.db")
    result = run_module("sqlite_backup", path=db, dest=dest, mode="0640")
    assert result["changed"] is True and result["backup"] == dest
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o640
    assert run_module("sqlite_backup", path=db, dest=dest)["changed"] is False


def test_check_mode_writes_nothing(run_module, make_estate, tmp_path):
    db = make_estate.make_database(str(tmp_path / "app.db"))
    dest = tmp_path / "backups"
    result = run_module("sqlite_backup", path=db, dest=str(dest) + "/", check_mode=True)
    assert result["changed"] is True
    assert not dest.exists()


def test_backup_while_an_application_writes_in_wal_mode(run_module, make_estate, tmp_path):
    db = make_estate.make_database(str(tmp_path / "live.db"), rows=20000, journal_mode="wal")
    start = make_estate.row_count(db)
    writer = make_estate.start_writer(db, 3, batch=20)
    time.sleep(0.5)

    result = run_module("sqlite_backup", path=db, dest=str(tmp_path / "backups") + "/")
    committed = int(writer.communicate(timeout=60)[0])

    assert result["rc"] == 0, result
    in_backup = make_estate.row_count(result["backup"])
    assert start < in_backup <= start + committed
    assert (in_backup - start) % 20 == 0, "the backup holds a transaction only in part"
    conn = sqlite3.connect(result["backup"])
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    assert make_estate.row_count(db) == start + committed


def test_corrupt_source_leaves_no_backup(run_module, make_estate, tmp_path):
    db = make_estate.corrupt(make_estate.make_database(str(tmp_path / "app.db"), rows=3000), page=3)
    dest = tmp_path / "backups"
    result = run_module("sqlite_backup", path=db, dest=str(dest) + "/")
    assert result["failed"] is True
    assert "no backup was written" in result["msg"]
    assert os.listdir(str(dest)) == []


def test_unwritable_destination_fails_clearly(run_module, make_estate, tmp_path, tmpfs):
    db = make_estate.make_database(str(tmp_path / "app.db"))
    readonly = tmpfs("1m")
    tmpfs.make_readonly(readonly)
    result = run_module("sqlite_backup", path=db, dest=str(readonly) + "/")
    assert result["failed"] is True
    assert "cannot write" in result["msg"]


def test_contradicting_options_are_refused(run_module, make_estate, tmp_path):
    db = make_estate.make_database(str(tmp_path / "app.db"))
    result = run_module("sqlite_backup", path=db, dest=db)
    assert result["failed"] is True
    assert "dest must differ from path" in result["msg"]
    bad_mode = run_module("sqlite_backup", path=db, dest=str(tmp_path / "b.db"), mode="rw-")
    assert bad_mode["failed"] is True and "octal" in bad_mode["msg"]


def test_restore_takes_the_newest_good_backup_and_keeps_the_corrupt_file(run_module, make_estate, tmp_path):
    db = str(tmp_path / "app.db")
    make_estate.make_database(db, rows=1000, journal_mode="wal")
    folder = str(tmp_path / "backups")
    good = make_estate.write_backup(db, folder, "20260101T000000Z")
    bad = make_estate.write_backup(db, folder, "20260102T000000Z")
    with open(bad, "r+b") as stream:  # a bit flip the checksum catches
        stream.seek(5000)
        stream.write(b"\x01")
    make_estate.corrupt(db, page=3)
    corrupt_hash = make_estate.sha256(db)
    open(db + "-wal", "wb").write(b"stale wal")
    open(db + "-shm", "wb").write(b"stale shm")

    planned = run_module("sqlite_backup", path=db, dest=folder, state="restored", check_mode=True)
    assert planned["changed"] is True and planned["backup"] == good
    assert make_estate.sha256(db) == corrupt_hash

    result = run_module("sqlite_backup", path=db, dest=folder, state="restored")

    assert result["changed"] is True
    assert result["backup"] == good
    assert result["rejected"] == [dict(path=bad, reason="checksum mismatch")]
    assert not os.path.exists(db + "-wal") and not os.path.exists(db + "-shm")
    assert sorted(result["moved"]) == sorted([db + "-wal", db + "-shm"])
    assert make_estate.sha256(result["replaced"]) == corrupt_hash
    assert open(result["replaced"] + "-wal", "rb").read() == b"stale wal"
    assert make_estate.sha256(db) == make_estate.sha256(good)
    assert make_estate.row_count(db) == 1000

    again = run_module("sqlite_backup", path=db, dest=folder, state="restored")
    assert again["changed"] is False


def test_restore_refuses_when_no_backup_passes(run_module, make_estate, tmp_path):
    db = make_estate.corrupt(make_estate.make_database(str(tmp_path / "app.db"), rows=3000), page=3)
    folder = str(tmp_path / "backups")
    broken = make_estate.write_backup(db, folder, "20260101T000000Z")
    before = make_estate.sha256(db)
    result = run_module("sqlite_backup", path=db, dest=folder, state="restored")
    assert result["failed"] is True
    assert "no backup passed its checks" in result["msg"]
    assert result["rejected"][0]["path"] == broken
    assert make_estate.sha256(db) == before


def test_restore_refuses_a_database_in_use(run_module, make_estate, tmp_path):
    db = make_estate.make_database(str(tmp_path / "app.db"))
    folder = str(tmp_path / "backups")
    make_estate.write_backup(db, folder, "20260101T000000Z")
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("INSERT INTO items (name) VALUES ('newer')")
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = run_module("sqlite_backup", path=db, dest=folder, state="restored", busy_timeout=1)
    finally:
        conn.execute("ROLLBACK")
        conn.close()
    assert result["failed"] is True
    assert "in use by another connection" in result["msg"]
    assert make_estate.row_count(db) == 2001


def test_restore_without_backups_fails_and_leaves_the_database(run_module, make_estate, tmp_path):
    db = make_estate.make_database(str(tmp_path / "app.db"))
    (tmp_path / "empty").mkdir()
    result = run_module("sqlite_backup", path=db, dest=str(tmp_path / "empty"), state="restored")
    assert result["failed"] is True
    assert "no backups of" in result["msg"]


def test_with_no_good_backup_recover_salvages_beside_the_corrupt_database_once(run_module, make_estate, tmp_path):
    db = make_estate.corrupt(make_estate.make_database(str(tmp_path / "orders.db"), rows=3000), page=10)
    folder = str(tmp_path / "backups")
    os.makedirs(folder)
    before = make_estate.sha256(db)

    planned = run_module("sqlite_backup", path=db, dest=folder, state="restored", recover=True, check_mode=True)
    assert planned["changed"] is True and "would salvage" in planned["msg"]
    assert sorted(os.listdir(str(tmp_path))) == ["backups", "orders.db"]

    salvaged = run_module("sqlite_backup", path=db, dest=folder, state="restored", recover=True)
    assert salvaged["rc"] == 0 and salvaged["changed"] is True, salvaged
    [entry] = salvaged["upkeep_results"]
    assert (entry["check"], entry["status"]) == ("sqlite_restore", "critical")
    assert "no backups of it in %s" % folder in entry["summary"] and "swap it in by hand" in entry["summary"]
    assert make_estate.sha256(db) == before, "the corrupt database was touched"
    recovered = salvaged["recovered"]
    assert recovered.startswith(db + ".recovered-")
    # The sqlite3 command finds a sound database holding the rows .recover could read: most of them, not all.
    assert subprocess.run(["sqlite3", recovered, "PRAGMA integrity_check;"], capture_output=True, text=True,
                          check=True).stdout.strip() == "ok"
    rows = int(subprocess.run(["sqlite3", recovered, "SELECT count(*) FROM items;"], capture_output=True, text=True,
                              check=True).stdout)
    assert 0 < rows < 3000 and salvaged["recovered_rows"]["items"] == rows
    assert not [name for name in os.listdir(str(tmp_path)) if name.endswith(".sql")]

    again = run_module("sqlite_backup", path=db, dest=folder, state="restored", recover=True)
    assert again["changed"] is False and again["recovered"] == recovered
    assert again["upkeep_results"][0]["status"] == "critical"
    assert len([name for name in os.listdir(str(tmp_path)) if ".recovered-" in name]) == 1
