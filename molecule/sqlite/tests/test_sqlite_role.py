"""What the sqlite role leaves behind in the containers after converge and the idempotence run."""

import re

BACKUPS = "/var/backups/upkeep/sqlite/srv_app_data_app.db"


def sqlite(host, db, sql):
    return host.check_output("sqlite3 %s %s" % (db, "'%s'" % sql))


def test_bloated_database_was_compacted(host):
    before = int(host.file("/srv/app/app-size-before").content_string)
    after = host.file("/srv/app/data/app.db").size
    assert after < before / 2
    assert sqlite(host, "/srv/app/data/app.db", "PRAGMA freelist_count") == "0"
    assert sqlite(host, "/srv/app/data/app.db", "PRAGMA integrity_check") == "ok"
    assert sqlite(host, "/srv/app/data/app.db", "SELECT count(*) FROM items") == "15000"


def test_backup_taken_before_the_rewrite_is_private_and_verifiable(host):
    backups = [name for name in host.file(BACKUPS).listdir() if name.endswith(".db")]
    assert len(backups) == 1, backups
    assert re.match(r"^app-\d{8}T\d{6}Z\.db$", backups[0])
    backup = host.file("%s/%s" % (BACKUPS, backups[0]))
    assert backup.mode == 0o600
    assert host.file(BACKUPS).mode == 0o700
    assert host.run("cd %s && sha256sum -c --strict %s.sha256" % (BACKUPS, backups[0])).rc == 0
    # The backup holds the database as it was, free pages included.
    assert int(sqlite(host, backup.path, "PRAGMA freelist_count")) > 0


def test_corrupt_database_was_restored_and_the_corrupt_copy_kept(host):
    assert sqlite(host, "/srv/app/data/inventory.db", "PRAGMA integrity_check") == "ok"
    assert sqlite(host, "/srv/app/data/inventory.db", "SELECT count(*) FROM items") == "3000"
    kept = [name for name in host.file("/srv/app/data").listdir() if name.startswith("inventory.db.replaced-")]
    assert len(kept) == 1, kept
    corrupt = host.run("sqlite3 /srv/app/data/%s 'PRAGMA integrity_check'" % kept[0])
    assert corrupt.rc != 0 or corrupt.stdout.strip() != "ok"


def test_healthy_database_was_left_alone(host):
    assert sqlite(host, "/srv/app/data/events.db", "PRAGMA journal_mode") == "wal"
    assert sqlite(host, "/srv/app/data/events.db", "SELECT count(*) FROM items") == "5000"
    assert not host.file("/var/backups/upkeep/sqlite/srv_app_data_events.db").exists


def test_service_was_stopped_and_started_once(host):
    assert host.run("service demo-app status").rc == 0
    starts = host.file("/var/log/demo-app.starts").content_string.split()
    assert len(starts) == 2, "started by prepare and once by the role, not again by the idempotence run"
