"""Benchmark (not a test): sqlite_vacuum against the sqlite3 command line on a bloated database.

Builds a bloated database of about --size-mib MiB (half of its pages free), copies it, and prints in one run:
  - `sqlite3 FILE 'VACUUM'` wall time (the baseline);
  - the module's wall time on an identical copy, as Ansible runs it (a Python process reading JSON arguments),
    with its full integrity check, with the quick check, and the time of its VACUUM statement alone;
  - the module's wall time to decide that the compacted (healthy) database needs nothing.
Ratios are against the baseline measured in the same run. Targets: VACUUM ratio at most 1.10, decision under 1 s.

Usage: python bench/sqlite_vacuum.py [--size-mib 1024] [--dir /var/tmp]
"""

import argparse
import os
import shutil
import sqlite3
import tempfile

from harness import collections_path, run_module, timed

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


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--dir", default="/var/tmp")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="upkeep-bench-", dir=args.dir)
    try:
        collections = collections_path(tmp)
        original = os.path.join(tmp, "original.db")
        print("building a bloated database of about %d MiB ..." % args.size_mib, flush=True)
        build(original, args.size_mib)
        print("size %.0f MiB, %d free pages" % (os.path.getsize(original) / 2 ** 20,
                                                sqlite3.connect(original).execute("PRAGMA freelist_count").fetchone()[0]))
        copies = {}
        for name in ("cli", "full", "quick"):
            copies[name] = os.path.join(tmp, name + ".db")
            shutil.copyfile(original, copies[name])
        os.unlink(original)

        baseline = timed(["sqlite3", copies["cli"], "VACUUM"])
        full, full_result = run_module(collections, "sqlite_vacuum", path=copies["full"])
        quick, quick_result = run_module(collections, "sqlite_vacuum", path=copies["quick"], integrity="quick")
        cli_free = sqlite3.connect(copies["cli"]).execute("PRAGMA freelist_count").fetchone()[0]
        assert full_result["freelist_after"] == quick_result["freelist_after"] == cli_free == 0, "every VACUUM compacts"
        for name in copies.values():
            os.unlink(name)

        healthy = os.path.join(tmp, "healthy.db")
        print("building a healthy database of about %d MiB ..." % args.size_mib, flush=True)
        build(healthy, args.size_mib, bloated=False)
        run_module(collections, "sqlite_vacuum", path=healthy)  # stores its statistics once, as the first weekly run would
        decide, decide_result = run_module(collections, "sqlite_vacuum", path=healthy)

        print("sqlite3 FILE 'VACUUM'                      %7.2f s  (baseline)" % baseline)
        print("sqlite_vacuum, full integrity check        %7.2f s  ratio %.2f  (integrity %.2f s, VACUUM %.2f s)" % (
            full, full / baseline, full_result["timings"].get("integrity_check", 0), full_result["timings"]["vacuum"]))
        print("sqlite_vacuum, quick check                 %7.2f s  ratio %.2f  (quick_check %.2f s, VACUUM %.2f s)" % (
            quick, quick / baseline, quick_result["timings"].get("integrity_check", 0), quick_result["timings"]["vacuum"]))
        print("VACUUM statement inside the module         %7.2f s  ratio %.2f  (target <= 1.10)" % (
            full_result["timings"]["vacuum"], full_result["timings"]["vacuum"] / baseline))
        print("deciding a healthy %.0f MiB database needs nothing: %.2f s  (target < 1 s; changed=%s)" % (
            os.path.getsize(healthy) / 2 ** 20, decide, decide_result["changed"]))
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
