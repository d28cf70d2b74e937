"""backup_verify on real backup artifacts made here: SQLite copies, pg_dump archives and scripts from the real
PostgreSQL server, tar, gzip and zstd files, good and damaged."""

import gzip
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
import time

import pytest

from ansible_collections.upkeep.maintenance.plugins.module_utils import _files


def with_sidecar(path):
    _files.write_checksum(str(path), _files.sha256_file(str(path)), 0o600)
    return str(path)


def age(path, hours):
    moment = time.time() - hours * 3600
    os.utime(str(path), (moment, moment))


def sqlite_set(make_estate, folder, count=3, rows=2000):
    """count SQLite backups an hour apart, the newest last, each with its sidecar."""
    folder.mkdir(exist_ok=True)
    paths = []
    for number in range(count):
        path = make_estate.make_database(str(folder / ("app-2026112%dT020000Z.db" % number)), rows=rows)
        with_sidecar(path)
        age(path, count - number)
        paths.append(path)
    return paths


def checks(result):
    return dict((check["name"], check["status"]) for check in result["checks"])


def test_a_fresh_good_set_passes_every_check_and_restores(run_module, make_estate, tmp_path):
    paths = sqlite_set(make_estate, tmp_path / "backups")
    before = sorted(os.listdir(tmp_path / "backups"))

    result = run_module("backup_verify", path=str(tmp_path / "backups"), pattern="app-*.db", min_count=3,
                        restore_test=True, smoke_queries=[dict(name="items", sql="SELECT count(*) FROM items", min=2000)])

    assert result["rc"] == 0 and result["changed"] is False, result
    assert checks(result) == dict(count="ok", freshness="ok", size="ok", shrink="ok", checksum="ok", format="ok",
                                  restore_test="ok")
    assert result["latest"]["path"] == paths[-1] and result["latest"]["format"] == "sqlite"
    assert result["latest"]["sha256"] == _files.sha256_file(paths[-1]) and result["count"] == 3
    assert result["findings"] == [] and result["upkeep_results"][0]["check"] == "backup_verify"
    assert "items = 2000" in [c for c in result["checks"] if c["name"] == "restore_test"][0]["message"]
    assert sorted(os.listdir(tmp_path / "backups")) == before, "nothing is written into the backup folder"

    short = run_module("backup_verify", path=str(tmp_path / "backups"), restore_test=True, fail_on="never",
                       smoke_queries=[dict(sql="SELECT count(*) FROM items", min=5000)])
    assert checks(short)["restore_test"] == "critical"
    assert "returned 2000, less than 5000" in short["findings"][0]["summary"]


def test_stale_shrunk_mismatched_and_too_few(run_module, make_estate, tmp_path):
    folder = tmp_path / "backups"
    paths = sqlite_set(make_estate, folder, count=2, rows=20000)
    small = make_estate.make_database(str(folder / "app-20261125T020000Z.db"), rows=100)
    with_sidecar(small)
    with open(small, "r+b") as handle:
        handle.seek(200)
        handle.write(b"\x01")
    age(small, 30)

    result = run_module("backup_verify", path=str(folder), max_age="26h", min_count=5, fail_on="never")

    assert result["latest"]["path"] == paths[-1], "newest by time, not by name"
    assert checks(result) == dict(count="warning", freshness="ok", size="ok", shrink="ok", checksum="ok", format="ok")

    age(small, 0)
    age(paths[-1], 1)
    result = run_module("backup_verify", path=str(folder), max_age="90m", fail_on="never")
    found = checks(result)
    assert (found["shrink"], found["checksum"]) == ("warning", "critical"), result["checks"]
    assert [entry["check"] for entry in result["findings"]] == ["backup_shrink", "backup_checksum"]

    for path in paths + [small]:
        age(path, 50)
    stale = run_module("backup_verify", path=str(folder), max_age="2d", checksum="none")
    assert stale["rc"] == 1 and checks(stale)["freshness"] == "critical"
    assert "newest backup is 50 h old (limit 48 h)" in stale["msg"]


def test_damaged_files_fail_their_format_check(run_module, make_estate, tmp_path):
    folder = tmp_path / "damaged"
    folder.mkdir()
    sql_text = b"-- PostgreSQL database dump\nCREATE TABLE t (id int);\n" + b"INSERT INTO t VALUES (1);\n" * 20000 \
        + b"-- PostgreSQL database dump complete\n"
    cut_gzip = folder / "dump.sql.gz"
    cut_gzip.write_bytes(gzip.compress(sql_text)[:-40])
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w:gz") as archive:
        payload = os.urandom(200000)
        info = tarfile.TarInfo("etc/app.conf")
        info.size = len(payload)
        archive.addfile(info, io.BytesIO(payload))
    flipped = bytearray(tar_bytes.getvalue())
    flipped[len(flipped) // 2] ^= 0xFF
    (folder / "config.tar.gz").write_bytes(bytes(flipped))
    corrupt = make_estate.make_database(str(folder / "app.db"), rows=5000)
    make_estate.corrupt(corrupt, page=3)
    truncated_script = folder / "plain.sql"
    truncated_script.write_bytes(sql_text[: len(sql_text) // 2])

    messages = {}
    for name in ("dump.sql.gz", "config.tar.gz", "app.db", "plain.sql"):
        result = run_module("backup_verify", path=str(folder / name), checksum="none", fail_on="never")
        assert checks(result)["format"] == "critical", result["checks"]
        messages[name] = [c["message"] for c in result["checks"] if c["name"] == "format"][0]
    assert messages["dump.sql.gz"].startswith("sql.gz: gzip stream broken")
    assert messages["config.tar.gz"].startswith("tar.gz: tar archive broken")
    assert messages["app.db"].startswith("sqlite: ")
    assert messages["plain.sql"] == "sql: the pg_dump script ends early: its closing line is missing"


def test_tar_zst_and_plain_tar_are_read_member_by_member(run_module, tmp_path):
    source = tmp_path / "etc"
    source.mkdir()
    for number in range(5):
        (source / ("file%d.conf" % number)).write_bytes(os.urandom(10000))
    archive = tmp_path / "sets" / "etc.tar"
    archive.parent.mkdir()
    with tarfile.open(str(archive), "w", format=tarfile.GNU_FORMAT) as handle:  # what GNU tar writes
        handle.add(str(source), arcname="etc")
    subprocess.run(["zstd", "-q", "-k", str(archive)], check=True)

    for name, fmt in (("etc.tar", "tar"), ("etc.tar.zst", "tar.zst")):
        result = run_module("backup_verify", path=str(archive.parent / name), checksum="none")
        assert result["latest"]["format"] == fmt and checks(result)["format"] == "ok", result["checks"]
        assert result["checks"][-1]["metrics"] == dict(members=6, member_bytes=50000)

    damaged = archive.parent / "etc.tar"
    data = bytearray(damaged.read_bytes())
    data[512 + 100] ^= 0xFF  # inside the second member's header, which tar checksums
    damaged.write_bytes(bytes(data))
    result = run_module("backup_verify", path=str(damaged), checksum="none", fail_on="never")
    assert checks(result)["format"] == "critical", result["checks"]


def test_empty_and_unreadable_folders(run_module, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_module("backup_verify", path=str(empty), pattern="*.dump")
    assert result["rc"] == 1 and checks(result) == dict(count="critical")
    assert result["msg"].endswith("no backup in %s matches *.dump" % empty)

    shared = tempfile.mkdtemp(prefix="upkeep-unreadable-")
    try:
        os.chmod(shared, 0o755)
        locked = os.path.join(shared, "backups")
        os.mkdir(locked, 0o700)
        result = run_module("backup_verify", path=locked, user="nobody", fail_on="error")
        assert result["rc"] == 1 and checks(result) == dict(count="failed")
        assert result["checks"][0]["message"] == "cannot read %s: Permission denied" % locked
    finally:
        shutil.rmtree(shared)


@pytest.fixture
def pg_dumps(pg_server, pg_db, tmp_path):
    """A custom-format archive and a plain script of a database with data, made by the server's pg_dump."""
    db, conn = pg_db
    conn.execute("CREATE TABLE orders (id bigint PRIMARY KEY, body text)")
    conn.execute("INSERT INTO orders SELECT g, md5(g::text) FROM generate_series(1, 30000) g")
    folder = tmp_path / "pg"
    folder.mkdir()
    custom, plain = folder / "app-1.dump", folder / "app-1.sql"
    for target, fmt in ((custom, "c"), (plain, "p")):
        subprocess.run([pg_server.tool("pg_dump"), "-F", fmt, "-f", str(target), db], env=pg_server.client_env(), check=True)
    return custom, plain


def test_pg_dump_archives_are_read_and_restored_into_a_scratch_database(run_module, pg_server, pg_dumps):
    custom, plain = pg_dumps
    smoke = [dict(name="orders", sql="SELECT count(*) FROM orders", min=30000)]
    databases_before = pg_server.sql("SELECT count(*) FROM pg_database")

    for dump, fmt in ((custom, "pg_custom"), (plain, "sql")):
        result = run_module("backup_verify", path=str(dump), checksum="none", restore_test=True, smoke_queries=smoke,
                            **pg_server.login())
        assert result["rc"] == 0, result
        assert result["latest"]["format"] == fmt and checks(result)["restore_test"] == "ok", result["checks"]
        assert "orders = 30000" in result["checks"][-1]["message"]
    assert pg_server.sql("SELECT count(*) FROM pg_database") == databases_before, "the scratch databases are dropped"

    cut = custom.parent / "app-2.dump"
    cut.write_bytes(custom.read_bytes()[: custom.stat().st_size * 6 // 10])
    result = run_module("backup_verify", path=str(cut), checksum="none", fail_on="never")
    assert checks(result)["format"] == "critical"
    assert "pg_restore" in [c["message"] for c in result["checks"] if c["name"] == "format"][0]
