"""Benchmark (not a test): sqlite_vacuum against the sqlite3 command line on copies of one bloated database.

The module checks a database's integrity before it rewrites it, rewrites it with VACUUM and refreshes the planner's
statistics with a bounded ANALYZE: like for like, the baseline is `sqlite3 FILE 'PRAGMA integrity_check' 'VACUUM'
'PRAGMA analysis_limit = 2000' 'ANALYZE'`; the CLI's VACUUM alone is a second row. A third
compares sqlite_check of the compacted database with `sqlite3 FILE 'PRAGMA quick_check'`. Both sides must leave no
free page and the same rows.

Usage: python bench/sqlite_vacuum.py [--size-mib 200]
"""

import os
import shutil
import sqlite3

from harness import collections_path, compare, main, run, run_module, scratch

ROW_BYTES = 1024
PAGE_OVERHEAD = 1.25  # a 1 KiB row takes about 1.25 KiB of 4 KiB pages


def build(path, size_mib, bloated=True):
    rows = int(size_mib * 1024 * 1024 / (ROW_BYTES * PAGE_OVERHEAD))
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = delete")
    conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, body BLOB)")
    conn.execute("CREATE INDEX events_kind ON events (kind)")
    body = os.urandom(ROW_BYTES)
    batch = 20000
    for start in range(0, rows, batch):
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO events (kind, body) VALUES (?, ?)",
                         (("kind-%d" % (i % 101), body) for i in range(start, min(rows, start + batch))))
        conn.execute("COMMIT")
    if bloated:
        conn.execute("DELETE FROM events WHERE id % 2 = 0 OR id > ?", (rows * 3 // 4,))
    conn.close()


def state(path):
    """What a VACUUM must leave: no free page, every row."""
    conn = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        return (conn.execute("PRAGMA freelist_count").fetchone()[0], conn.execute("SELECT count(*) FROM events").fetchone()[0])
    finally:
        conn.close()


def rows(size_mib=200):
    tmp = scratch()
    try:
        collections = collections_path(tmp)
        original = os.path.join(tmp, "original.db")
        build(original, size_mib)
        copy = os.path.join(tmp, "copy.db")

        def fresh():
            shutil.copyfile(original, copy)
            return copy

        vacuum = ("sqlite_vacuum", lambda path: run_module(collections, "sqlite_vacuum", path=path))
        found = [
            compare("sqlite_vacuum, %d MiB bloated" % size_mib,
                    ("sqlite3 integrity_check, VACUUM, ANALYZE",
                     lambda path: run(["sqlite3", path, "PRAGMA integrity_check", "VACUUM", "PRAGMA analysis_limit = 2000",
                                       "ANALYZE"], capture_output=True)),
                    vacuum, prepare=fresh, outcome=lambda path, _value: state(path), target=1.15),
            compare("sqlite_vacuum, %d MiB bloated, against VACUUM alone" % size_mib,
                    ("sqlite3 'VACUUM'", lambda path: run(["sqlite3", path, "VACUUM"])),
                    vacuum, prepare=fresh, outcome=lambda path, _value: state(path))]
        run(["sqlite3", original, "VACUUM"])

        def healthy():
            return original  # the compacted database, read only by both sides

        found.append(compare(
            "sqlite_check, %d MiB compacted" % size_mib,
            ("sqlite3 'PRAGMA quick_check'",
             lambda path: run(["sqlite3", path, "PRAGMA quick_check"], capture_output=True, text=True).stdout.strip()),
            ("sqlite_check integrity quick",
             lambda path: run_module(collections, "sqlite_check", path=path, integrity="quick")["status"]),
            prepare=healthy))
        return found
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main(__doc__, rows)
