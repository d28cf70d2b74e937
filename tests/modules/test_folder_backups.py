"""Backup sets whose units are folders, as runbook 003's backup script writes them (backup-YYYYMMDD/ holding a night's
database dump, volume archives and a SHA256SUMS manifest written by sha256sum): verified and pruned as wholes."""

import gzip
import os
import subprocess
import tarfile
import time

import pytest


def night(root, name, days_ago, make_estate, manifest=True):
    """One night's folder: a SQLite database, a tar.gz of uploads, a SQL script, and their manifest."""
    folder = root / name
    folder.mkdir(parents=True)
    make_estate.make_database(str(folder / "app.db"), rows=500)
    uploads = root.parent / ("uploads-" + name)
    uploads.mkdir()
    (uploads / "a.txt").write_text("upload\n" * 200)
    with tarfile.open(str(folder / "uploads.tar.gz"), "w:gz") as archive:
        archive.add(str(uploads), arcname="uploads")
    with gzip.open(str(folder / "schema.sql.gz"), "wt") as handle:
        handle.write("-- dump\nCREATE TABLE t (id int);\n")
    if manifest:
        subprocess.run("sha256sum app.db uploads.tar.gz schema.sql.gz > SHA256SUMS", shell=True, cwd=str(folder), check=True)
    moment = time.time() - days_ago * 86400
    for path in [folder] + list(folder.iterdir()):
        os.utime(str(path), (moment, moment))
    return folder


@pytest.fixture
def nights(tmp_path, make_estate):
    root = tmp_path / "backups"
    folders = [night(root, "backup-202611%02d" % (25 - days), days, make_estate) for days in (4, 3, 2, 1, 0)]
    return root, folders


def checks(result):
    return dict((check["name"], check["status"]) for check in result["checks"])


def test_a_set_of_folders_is_counted_dated_sized_checksummed_and_read_file_by_file(run_module, nights):
    root, folders = nights
    result = run_module("backup_verify", path=str(root), pattern="backup-*", units="folders", max_age="26h",
                        min_count=5, fail_on="never")
    assert result["rc"] == 0 and result["latest"]["path"] == str(folders[-1]), result
    assert checks(result) == dict(count="ok", freshness="ok", size="ok", shrink="ok", checksum="ok", format="ok")
    assert result["count"] == 5 and result["latest"]["size"] > 8192
    by_name = dict((check["name"], check) for check in result["checks"])
    assert by_name["checksum"]["message"] == "all 3 files of SHA256SUMS match their SHA-256"
    assert by_name["format"]["message"] == "3 files read to the end"


def test_a_damaged_file_in_the_newest_folder_fails_its_checksum_and_its_format(run_module, nights):
    root, folders = nights
    archive = folders[-1] / "uploads.tar.gz"
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF
    archive.write_bytes(bytes(data))
    result = run_module("backup_verify", path=str(root), pattern="backup-*", units="folders", fail_on="never")
    assert checks(result)["checksum"] == "critical" and checks(result)["format"] == "critical"
    messages = dict((check["name"], check["message"]) for check in result["checks"])
    assert "uploads.tar.gz changed after it was written" in messages["checksum"]
    assert messages["format"].startswith("1 of 3 files do not read to the end: uploads.tar.gz (")


def test_a_folder_is_as_old_as_its_newest_file_not_as_its_own_time(run_module, tmp_path, make_estate):
    root = tmp_path / "backups"
    stale = night(root, "backup-20261101", 24, make_estate, manifest=False)
    os.utime(str(stale), None)  # something listed or touched the folder today
    result = run_module("backup_verify", path=str(root), pattern="backup-*", units="folders", max_age="26h",
                        fail_on="never")
    assert checks(result)["freshness"] == "critical" and "24 d old" in result["checks"][1]["message"]
    assert checks(result)["checksum"] == "warning"  # no manifest in the folder


def test_folders_are_pruned_as_wholes_with_their_sidecars_never_through_a_link(run_module, nights, tmp_path):
    root, folders = nights
    for folder in folders:
        (root / (folder.name + ".sha256")).write_text("sidecar\n")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "keep.db").write_text("kept\n")
    os.symlink(str(outside), str(root / "backup-link"))

    planned = run_module("prune", check_mode=True, path=str(root), patterns=["backup-*"], units="folders", age="36h",
                         min_keep=1)
    assert planned["counts"]["pruned"] == 3 and all(folder.exists() for folder in folders)
    result = run_module("prune", path=str(root), patterns=["backup-*"], units="folders", age="36h", min_keep=1)
    assert result["changed"] is True and result["counts"] == dict(matched=5, kept=2, pruned=3, left_alone=1)
    assert sorted(path.name for path in root.iterdir()) == [
        "backup-20261124", "backup-20261124.sha256", "backup-20261125", "backup-20261125.sha256", "backup-link"]
    assert (outside / "keep.db").exists() and result["bytes_freed"] > 3 * 8192

    archived = run_module("prune", path=str(root), patterns=["backup-*"], units="folders", keep=1, min_keep=1,
                          action="archive", archive_dir=str(tmp_path / "archive"))
    assert archived["counts"]["pruned"] == 1
    assert (tmp_path / "archive" / time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400)) / "backup-20261124" / "app.db").exists()


def test_folder_units_refuse_what_does_not_apply_to_them(run_module, nights):
    root, _folders = nights
    for options in (dict(recurse=True), dict(action="compress")):
        result = run_module("prune", path=str(root), patterns=["backup-*"], units="folders", age="1d", **options)
        assert result["failed"] and result["msg"].startswith("units folders prunes whole folders")
