"""backup_create: PostgreSQL dumps from the real server and folder archives, atomic, checksummed, verifiable."""

import os
import stat
import subprocess


def listing(folder):
    return sorted(os.listdir(str(folder)))


def test_postgresql_dump_is_atomic_private_checksummed_and_verifiable(run_module, pg_server, pg_db, tmp_path):
    db, conn = pg_db
    conn.execute("CREATE TABLE orders AS SELECT generate_series(1, 5000) AS id")
    dest = tmp_path / "pg"

    result = run_module("backup_create", kind="postgresql", dest=str(dest), **pg_server.login(db))

    assert result["rc"] == 0 and result["changed"] is True and result["outcome"] == "created", result
    name = os.path.basename(result["path"])
    assert name.startswith(db + "-") and name.endswith(".dump")
    assert listing(dest) == [name, name + ".sha256"]
    assert stat.S_IMODE(os.stat(result["path"]).st_mode) == 0o600 and stat.S_IMODE(os.stat(str(dest)).st_mode) == 0o700
    assert subprocess.run(["sha256sum", "-c", "--quiet", name + ".sha256"], cwd=str(dest), check=False).returncode == 0
    assert pg_server.login(db)["login_password"] not in " ".join(result["command"])

    verified = run_module("backup_verify", path=str(dest), restore_test=True,
                          smoke_queries=[dict(sql="SELECT count(*) FROM orders", min=5000)], **pg_server.login())
    assert verified["rc"] == 0 and {c["name"]: c["status"] for c in verified["checks"]}["restore_test"] == "ok"

    reused = run_module("backup_create", kind="postgresql", dest=str(dest), reuse_within="1h", **pg_server.login(db))
    assert reused["changed"] is False and reused["outcome"] == "reused" and reused["path"] == result["path"]

    failed = run_module("backup_create", kind="postgresql", dest=str(dest), **pg_server.login("no_such_db"))
    assert failed["rc"] == 1 and failed["msg"].startswith("backup of no_such_db failed: pg_dump failed")
    assert listing(dest) == [name, name + ".sha256"], "a failed dump leaves nothing behind"


def test_an_unchanged_folder_gives_no_second_archive(run_module, tmp_path):
    source = tmp_path / "nginx"
    (source / "sites").mkdir(parents=True)
    (source / "nginx.conf").write_text("events {}\n")
    (source / "sites" / "app.conf").write_text("server {}\n")
    dest = tmp_path / "config"

    first = run_module("backup_create", kind="folder", src=str(source), dest=str(dest), compression="zstd")
    assert first["changed"] is True and first["path"].endswith(".tar.zst")
    members = subprocess.run(["tar", "--zstd", "-tf", first["path"]], capture_output=True, text=True, check=True).stdout
    assert members.split() == ["nginx/", "nginx/nginx.conf", "nginx/sites/", "nginx/sites/app.conf"]

    same = run_module("backup_create", kind="folder", src=str(source), dest=str(dest), compression="zstd")
    assert same["changed"] is False and same["outcome"] == "identical" and len(listing(dest)) == 2

    (source / "nginx.conf").write_text("events { worker_connections 64; }\n")
    os.utime(str(source / "nginx.conf"), (1, 1))
    changed = run_module("backup_create", kind="folder", src=str(source), dest=str(dest), compression="gzip")
    assert changed["changed"] is True and changed["path"].endswith(".tar.gz")

    planned = run_module("backup_create", check_mode=True, kind="folder", src=str(source), dest=str(tmp_path / "new"))
    assert planned["changed"] is True and planned["outcome"] == "planned" and not (tmp_path / "new").exists()

    missing = run_module("backup_create", kind="folder", src=str(tmp_path / "missing"), dest=str(dest))
    assert missing["rc"] == 1 and missing["msg"].endswith("is not a folder")


def test_a_folder_the_user_cannot_enter_fails_with_one_line(run_module, tmp_path):
    source = tmp_path / "etc"
    source.mkdir()
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o700)
    os.chmod(str(tmp_path), 0o755)
    result = run_module("backup_create", kind="folder", src=str(source), dest=str(locked / "sets"), user="nobody")
    assert result["rc"] == 1 and result["msg"] == "cannot use %s as the backup folder: Permission denied" % (locked / "sets")
