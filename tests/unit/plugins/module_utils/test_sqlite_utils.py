"""Pieces of module_utils._sqlite that decide things: backup names, which backup is newest, when VACUUM is due."""

import datetime
import os
import sqlite3
import subprocess

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.upkeep.maintenance.plugins.module_utils import _files, _sqlite
from ansible_collections.upkeep.maintenance.plugins.module_utils._sqlite import salvage_rows

import estate


def stats(free, pages=1000):
    return dict(freelist_count=free, page_count=pages, freelist_ratio=float(free) / pages)


def test_vacuum_due_needs_both_the_ratio_and_the_page_floor():
    assert _sqlite.vacuum_due(stats(300), 0.1, 256) is True
    assert _sqlite.vacuum_due(stats(200), 0.1, 256) is False
    assert _sqlite.vacuum_due(stats(300, pages=10000), 0.1, 256) is False
    assert _sqlite.vacuum_due(stats(0), 0.0, 0) is False


def test_backup_names_keep_the_suffix_and_never_collide(tmp_path):
    when = datetime.datetime(2026, 11, 23, 2, 0, 0, tzinfo=datetime.timezone.utc)
    first = _sqlite.unused_backup_path(str(tmp_path), "/srv/app/app.db", when)
    assert os.path.basename(first) == "app-20261123T020000Z.db"
    open(first, "w").close()
    second = _sqlite.unused_backup_path(str(tmp_path), "/srv/app/app.db", when)
    assert os.path.basename(second) == "app-20261123T020000Z.1.db"


def test_list_backups_is_newest_first_and_ignores_other_files(tmp_path):
    for name in ("app-20261101T000000Z.db", "app-20261123T020000Z.db", "app-20261123T020000Z.1.db",
                 "app-20261123T020000Z.db.sha256", "application-20261130T000000Z.db", "app.db", "app-latest.db"):
        (tmp_path / name).write_text("x")
    found = [os.path.basename(path) for path in _sqlite.list_backups(str(tmp_path), "/srv/app/app.db")]
    assert found == ["app-20261123T020000Z.1.db", "app-20261123T020000Z.db", "app-20261101T000000Z.db"]


def test_identifiers_are_quoted_against_injection():
    assert _sqlite.quote_identifier('x"; DROP TABLE t; --') == '"x""; DROP TABLE t; --"'


def test_checksum_sidecar_round_trip(tmp_path):
    target = tmp_path / "app-20261123T020000Z.db"
    target.write_bytes(b"data")
    digest = _files.sha256_file(str(target))
    _files.write_checksum(str(target), digest, 0o600)
    assert (tmp_path / (target.name + ".sha256")).read_text() == "%s  %s\n" % (digest, target.name)
    assert _files.read_checksum(str(target)) == digest
    (tmp_path / (target.name + ".sha256")).write_text("garbage\n")
    assert _files.read_checksum(str(target)) == ""


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.integers(1, 600), payload=st.sampled_from([10, 300, 5000]), page=st.integers(2, 40),
       without_rowid=st.booleans())
def test_salvage_ends_and_keeps_only_rows_as_they_were(tmp_path_factory, rows, payload, page, without_rowid):
    """Whatever page is torn, and whether rows spill into overflow pages, the salvage ends, its database passes the
    sqlite3 command's integrity check, and every row it kept is the row the database held."""
    folder = tmp_path_factory.mktemp("salvage")
    path = str(folder / "app.db")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    conn.execute("CREATE TABLE tags (name TEXT PRIMARY KEY, n INTEGER)%s" % (" WITHOUT ROWID" if without_rowid else ""))
    conn.execute("CREATE INDEX notes_body ON notes (body)")
    conn.execute("BEGIN")
    original = dict((number, "%d-%s" % (number, "x" * payload)) for number in range(1, rows + 1))
    conn.executemany("INSERT INTO notes VALUES (?, ?)", original.items())
    conn.executemany("INSERT INTO tags VALUES (?, ?)", (("tag%d" % number, number) for number in range(rows)))
    conn.execute("COMMIT")
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()
    estate.corrupt(path, page=min(page, pages))

    copied, _unmade = salvage_rows(path, str(folder / "salvaged.db"))

    assert subprocess.run(["sqlite3", str(folder / "salvaged.db"), "PRAGMA integrity_check;"], capture_output=True,
                          text=True, check=True).stdout.strip() == "ok"
    salvaged = sqlite3.connect(str(folder / "salvaged.db"))
    kept = dict(salvaged.execute("SELECT id, body FROM notes"))
    assert copied["notes"] == len(kept) <= rows
    assert all(original[number] == body for number, body in kept.items())
    assert all(name == "tag%d" % number for name, number in salvaged.execute("SELECT name, n FROM tags"))
    salvaged.close()
