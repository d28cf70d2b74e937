"""The sqlite role run by ansible-playbook on real files: rows past their retention deleted after a backup that still
holds them, the journal mode checked daily and set weekly, a corrupt database with no good backup salvaged beside
itself, and a second run that changes nothing. The sqlite3 command is the oracle."""

import glob
import json
import os
import re
import subprocess
import sys

import yaml

import estate
import findings


def sqlite3_cli(db, sql):
    return subprocess.run(["sqlite3", db, sql], capture_output=True, text=True, check=True).stdout.strip()


def run_role(tmp_path, collections_path, mode, databases, **settings):
    """The recap's counts and the entries the role recorded."""
    results = tmp_path / ("results-%s.json" % mode)
    playbook = tmp_path / "sqlite.yml"
    playbook.write_text(yaml.safe_dump([dict(
        name="SQLite", hosts="localhost", connection="local", gather_facts=False,
        roles=[dict(role="upkeep.maintenance.sqlite")],
        post_tasks=[dict(name="Keep the results", **{"ansible.builtin.copy": dict(
            content=findings.entries_template(), dest=str(results), mode="0600")}, changed_when=False)])]))
    variables = dict(ansible_python_interpreter=sys.executable, sqlite_mode=mode, sqlite_databases=databases,
                     sqlite_backup_dir=str(tmp_path / "backups"), sqlite_journal_mode="wal", **settings)
    process = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
                              "-e", json.dumps(variables), str(playbook)], capture_output=True, text=True, check=False,
                             env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path, ANSIBLE_NOCOLOR="1"))
    assert process.returncode == 0, process.stdout[-4000:] + process.stderr
    recap = dict((key, int(value)) for key, value in re.findall(r"(\w+)=(\d+)", process.stdout.split("PLAY RECAP")[1]))
    return recap, json.loads(results.read_text())


def by_check(entries, check):
    return dict((entry["target"], entry) for entry in entries if entry["check"] == check)


def test_retention_journal_mode_and_salvage_in_the_weekly_maintenance(tmp_path, collections_path):
    orders = str(tmp_path / "orders.db")
    sqlite3_cli(orders, """
        CREATE TABLE work_orders (id INTEGER PRIMARY KEY, state TEXT, closed_at TEXT);
        CREATE TABLE audit_log (id INTEGER PRIMARY KEY, at TEXT, what TEXT);
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400)
        INSERT INTO audit_log (at, what) SELECT datetime('now', '-' || i || ' days', '+12 hours'), 'event ' || i FROM n;
        INSERT INTO work_orders (state, closed_at) VALUES ('open', NULL), ('closed', datetime('now', '-3 days'));""")
    past = int(sqlite3_cli(orders, "SELECT count(*) FROM audit_log WHERE at < datetime('now', '-180 days');"))
    notes = estate.corrupt(estate.make_database(str(tmp_path / "notes.db"), rows=3000), page=10)
    databases = [
        dict(path=orders, retention=[dict(name="audit older than 180 days", age="180d",
                                          sql="DELETE FROM audit_log WHERE at < :cutoff")]),
        dict(path=notes, journal_mode="delete"),
    ]

    _recap, daily = run_role(tmp_path, collections_path, "check", databases)
    assert by_check(daily, "sqlite_journal_mode")[orders]["status"] == "warning"
    assert sqlite3_cli(orders, "SELECT count(*) FROM audit_log;") == "400", "the daily check deleted rows"

    recap, weekly = run_role(tmp_path, collections_path, "maintain", databases)
    assert recap["failed"] == 0 and recap["changed"] > 0
    [retention] = by_check(weekly, "sqlite_retention").values()
    assert (retention["status"], retention["metrics"]["rows_deleted"]) == ("changed", past)
    assert sqlite3_cli(orders, "SELECT count(*) FROM audit_log;") == str(400 - past)
    # The backup taken before the deletion still holds every row.
    [backup] = glob.glob(str(tmp_path / "backups" / "*orders.db" / "orders-*.db"))
    assert sqlite3_cli(backup, "SELECT count(*) FROM audit_log;") == "400"
    assert sqlite3_cli(orders, "PRAGMA journal_mode;") == "wal"
    salvage = by_check(weekly, "sqlite_restore")[notes]
    assert salvage["status"] == "critical" and ("row by row" in salvage["summary"] or ".recover" in salvage["summary"])
    [salvaged] = glob.glob(notes + ".recovered-*")
    assert sqlite3_cli(salvaged, "PRAGMA integrity_check;") == "ok"
    assert 0 < int(sqlite3_cli(salvaged, "SELECT count(*) FROM items;")) < 3000

    recap, again = run_role(tmp_path, collections_path, "maintain", databases)
    assert recap["changed"] == 0 and recap["failed"] == 0
    assert by_check(again, "sqlite_restore")[notes]["status"] == "critical", "the unresolved corruption went quiet"
    assert not by_check(again, "sqlite_retention")
    assert len(glob.glob(notes + ".recovered-*")) == 1
    assert len(glob.glob(str(tmp_path / "backups" / "*orders.db" / "orders-*.db"))) == 1


def test_the_role_keeps_only_the_backups_its_retention_asks_for(tmp_path, collections_path):
    app = str(tmp_path / "app.db")
    retention = dict(keep=2, min_keep=1)
    taken = []
    for week in range(3):
        estate.make_bloated(app, rows=3000)
        recap, weekly = run_role(tmp_path, collections_path, "maintain", [dict(path=app)],
                                 sqlite_backup_retention=retention)
        assert recap["failed"] == 0
        taken.append(by_check(weekly, "sqlite_backup")[app]["details"]["backup"])
        pruned = [entry for entry in weekly if entry["check"] == "prune"]
        assert [entry["metrics"]["files_pruned"] for entry in pruned] == [0 if week < 2 else 1], pruned
    backups = sorted(glob.glob(str(tmp_path / "backups" / "*app.db" / "app-*.db")))
    # The two newest of the three, each with its checksum; the oldest went with its sidecar.
    assert backups == sorted(taken[1:])
    assert sorted(glob.glob(str(tmp_path / "backups" / "*app.db" / "*.sha256"))) == [path + ".sha256" for path in backups]
