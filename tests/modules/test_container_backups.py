"""Backups of what lives in Docker, on this machine's engine: a PostgreSQL server in a container, dumped by the pg_dump
inside it (the host's client is not used), and a named volume archived from its files; both verified by content."""

import os
import subprocess
import time
import uuid

import pytest

from conftest import docker


@pytest.fixture
def database_container(docker_image):
    name = "upkeep-pg-%s" % uuid.uuid4().hex[:8]
    docker("run", "--detach", "--name", name, docker_image, "sh", "-c",
           "pg_createcluster $(ls /usr/lib/postgresql) main >/dev/null 2>&1; "
           "pg_ctlcluster $(ls /usr/lib/postgresql) main start && exec sleep infinity")
    try:
        deadline = time.monotonic() + 60
        while subprocess.run(["docker", "exec", "--user", "postgres", name, "pg_isready", "--quiet"],
                             capture_output=True, check=False).returncode != 0:
            assert time.monotonic() < deadline, "PostgreSQL did not start in its container"
            time.sleep(0.5)
        docker("exec", "--user", "postgres", name, "psql", "--quiet", "--command",
               "ALTER USER postgres PASSWORD 'in-container-s3cret'")
        docker("exec", "--user", "postgres", name, "psql", "--quiet", "--command", "CREATE DATABASE shop")
        docker("exec", "--user", "postgres", name, "psql", "--quiet", "--dbname", "shop", "--command",
               "CREATE TABLE orders AS SELECT g AS id, md5(g::text) AS body FROM generate_series(1, 5000) g;")
        yield name
    finally:
        docker("rm", "--force", name, check=False)


def test_a_database_in_a_container_is_dumped_by_its_own_pg_dump(run_module, tmp_path, database_container):
    dest = tmp_path / "dumps"
    secret = "in-container-s3cret"
    result = run_module("backup_create", kind="postgresql", container=database_container, db="shop",
                        login_host="127.0.0.1", login_user="postgres", login_password=secret, dest=str(dest),
                        env=dict(PATH="/nonexistent-postgresql:/usr/local/bin:/usr/bin:/bin"))
    assert result["rc"] == 0 and result["outcome"] == "created", result["msg"]
    assert result["command"][:3] == [result["command"][0], "exec", "--interactive"] and secret not in " ".join(result["command"])
    restored = subprocess.run(["pg_restore", "--list", result["path"]], capture_output=True, text=True, check=True).stdout
    assert "TABLE DATA public orders" in restored
    verified = run_module("backup_verify", path=str(dest), pattern="shop-*.dump", fail_on="never")
    assert dict((check["name"], check["status"]) for check in verified["checks"])["format"] == "ok"

    wrong = run_module("backup_create", kind="postgresql", container=database_container, db="nope", login_host="127.0.0.1",
                       login_user="postgres", login_password=secret, dest=str(dest))
    assert wrong["rc"] == 1 and wrong["msg"].startswith("backup of nope failed: pg_dump failed") and secret not in wrong["msg"]
    assert sorted(os.listdir(str(dest))) == sorted([os.path.basename(result["path"]), os.path.basename(result["path"]) + ".sha256"])


def test_a_named_volume_is_archived_from_its_files_and_reused_when_unchanged(run_module, tmp_path, docker_image):
    volume = docker("volume", "create", "upkeep-data-%s" % uuid.uuid4().hex[:6])
    try:
        docker("run", "--rm", "--volume", "%s:/data" % volume, docker_image, "sh", "-c",
               "mkdir -p /data/uploads && head -c 100000 /dev/urandom > /data/uploads/a.bin && echo config > /data/app.conf")
        first = run_module("backup_create", kind="volume", src=volume, dest=str(tmp_path / "volumes"))
        assert first["rc"] == 0 and first["outcome"] == "created", first["msg"]
        assert os.path.basename(first["path"]).startswith(volume + "-") and first["path"].endswith(".tar.zst")
        listing = subprocess.run(["tar", "--zstd", "-tf", first["path"]], capture_output=True, text=True, check=True).stdout
        assert volume + "/uploads/a.bin" in listing.split() and volume + "/app.conf" in listing.split()
        again = run_module("backup_create", kind="volume", src=volume, dest=str(tmp_path / "volumes"))
        assert again["changed"] is False and again["outcome"] == "identical"
        verified = run_module("backup_verify", path=str(tmp_path / "volumes"), pattern=volume + "-*.tar.zst", fail_on="never")
        assert dict((check["name"], check["status"]) for check in verified["checks"])["format"] == "ok"
        missing = run_module("backup_create", kind="volume", src="upkeep-no-such-volume", dest=str(tmp_path / "volumes"))
        assert missing["rc"] == 1 and "volume upkeep-no-such-volume" in missing["msg"]
    finally:
        docker("volume", "rm", volume, check=False)


def test_a_dump_is_read_and_restore_tested_by_the_database_container_alone(run_module, tmp_path, database_container):
    """As on a Compose host without PostgreSQL's client: the host's pg_restore and psql are out of reach."""
    dest = tmp_path / "dumps"
    login = dict(login_host="127.0.0.1", login_user="postgres", login_password="in-container-s3cret")
    taken = run_module("backup_create", kind="postgresql", container=database_container, db="shop", dest=str(dest), **login)
    assert taken["rc"] == 0, taken["msg"]
    no_client = dict(PATH="/usr/local/bin:/usr/bin:/bin")
    verified = run_module("backup_verify", path=str(dest), pattern="shop-*.dump", container=database_container,
                          restore_test=True, smoke_queries=[dict(sql="SELECT count(*) FROM orders", min=5000)],
                          env=no_client, fail_on="never", **login)
    checks = dict((check["name"], check) for check in verified["checks"])
    assert checks["format"]["status"] == "ok" and checks["restore_test"]["status"] == "ok", verified["checks"]
    assert "SELECT count(*) FROM orders = 5000" in checks["restore_test"]["message"]
    databases = docker("exec", "--user", "postgres", database_container, "psql", "-At", "-c", "SELECT datname FROM pg_database")
    assert not [name for name in databases.split() if name.startswith("upkeep_restore_test_")]
