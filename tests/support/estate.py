"""Real artifacts for the tests, the demo and the benchmarks: SQLite databases in known states.

Used as a library (``import estate``) and from the command line:
    python tests/support/estate.py demo DIR      lays out the demo estate under DIR
"""

import argparse
import hashlib
import io
import os
import sqlite3
import subprocess
import sys
import tarfile
import textwrap
import time

PAYLOAD = "x" * 400


def _connect(path):
    return sqlite3.connect(path, isolation_level=None)


def make_database(path, rows=2000, journal_mode="delete", payload=PAYLOAD):
    """A database with a table of ``rows`` rows and an index."""
    conn = _connect(path)
    conn.execute("PRAGMA journal_mode = %s" % journal_mode)
    conn.execute("CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, payload TEXT)")
    conn.execute("CREATE INDEX IF NOT EXISTS items_name ON items (name)")
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO items (name, payload) VALUES (?, ?)",
                     (("item-%d" % (i % 997), payload) for i in range(rows)))
    conn.execute("COMMIT")
    conn.close()
    return path


def make_bloated(path, rows=20000, keep_fraction=0.25, journal_mode="delete", payload=PAYLOAD):
    """A database whose deleted rows left most of its pages on the freelist."""
    make_database(path, rows, journal_mode, payload)
    conn = _connect(path)
    conn.execute("DELETE FROM items WHERE id > ?", (int(rows * keep_fraction),))
    conn.close()
    return path


def row_count(path, table="items"):
    """Rows of a table, read without writing anything (no -wal or -shm is created or removed)."""
    conn = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        return conn.execute("SELECT count(*) FROM %s" % table).fetchone()[0]
    finally:
        conn.close()


WRITER = textwrap.dedent("""
    import sqlite3, sys, time
    conn = sqlite3.connect(sys.argv[1], timeout=60, isolation_level=None)
    batch, committed = int(sys.argv[3]), 0
    deadline = time.monotonic() + float(sys.argv[2])
    while time.monotonic() < deadline:
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO items (name, payload) VALUES ('writer', ?)", [("w" * 300,)] * batch)
        conn.execute("COMMIT")
        committed += batch
        time.sleep(0.002)
    print(committed)
""")


def start_writer(path, seconds, batch=1):
    """An application process committing ``batch`` rows per transaction for ``seconds``; its output is
    the number of rows it committed."""
    return subprocess.Popen([sys.executable, "-c", WRITER, path, str(seconds), str(batch)],
                            stdout=subprocess.PIPE, text=True)


def page_size(path):
    conn = _connect(path)
    try:
        return conn.execute("PRAGMA page_size").fetchone()[0]
    finally:
        conn.close()


def corrupt(path, page=2):
    """Overwrite one b-tree page with garbage, the way a torn write or bad sector does."""
    size = page_size(path)
    with open(path, "r+b") as stream:
        stream.seek((page - 1) * size)
        stream.write(bytes((i * 37 + 11) % 256 for i in range(size)))
    return path


def make_not_database(path):
    with open(path, "w") as stream:
        stream.write("this is a text file, not a database\n" * 200)
    return path


def sha256(path):
    with open(path, "rb") as stream:
        return hashlib.sha256(stream.read()).hexdigest()


def write_backup(source, folder, stamp):
    """A backup as sqlite_backup names it (``stem-YYYYmmddTHHMMSSZ.suffix``) with its sha256sum sidecar."""
    os.makedirs(folder, exist_ok=True)
    stem, suffix = os.path.splitext(os.path.basename(source))
    dest = os.path.join(folder, "%s-%s%s" % (stem, stamp, suffix))
    src, target = _connect(source), _connect(dest)
    src.backup(target)
    target.close()
    src.close()
    os.chmod(dest, 0o600)
    with open(dest + ".sha256", "w") as stream:
        stream.write("%s  %s\n" % (sha256(dest), os.path.basename(dest)))
    return dest


def demo(root):
    """The demo estate: a bloated database, a WAL database, a corrupt one with a good backup, logs, temporary files,
    a backup job that stopped five days ago and an application folder with a world-writable file."""
    root = os.path.abspath(root)
    data, backups = os.path.join(root, "data"), os.path.join(root, "backups")
    os.makedirs(data, exist_ok=True)
    for name in os.listdir(data):
        os.unlink(os.path.join(data, name))
    make_bloated(os.path.join(data, "app.db"), rows=60000)
    make_database(os.path.join(data, "events.db"), rows=5000, journal_mode="wal")
    inventory = make_database(os.path.join(data, "inventory.db"), rows=3000)
    write_backup(inventory, os.path.join(backups, "inventory"), time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
    corrupt(inventory, page=3)
    demo_logs(os.path.join(root, "logs"))
    demo_temporary_files(os.path.join(root, "tmp"))
    demo_stale_backups(os.path.join(backups, "uploads"))
    demo_application(os.path.join(root, "app"))
    return root


def age_file(path, days):
    moment = time.time() - days * 86400
    os.utime(path, (moment, moment))


def demo_logs(folder):
    """An application log with a dozen errors today, and rotated logs from the last two months."""
    os.makedirs(folder, exist_ok=True)
    now = time.time()
    with open(os.path.join(folder, "app.log"), "w") as log:
        for number in range(40):
            moment = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - number * 1800))
            log.write("%s %s request %d\n" % (moment, "ERROR" if number % 3 == 0 else "INFO", number))
    for day in range(1, 61, 5):
        path = os.path.join(folder, "app.log.%d.gz" % day)
        with open(path, "wb") as rotated:
            rotated.write(b"\x1f\x8b")
        age_file(path, day)


def demo_temporary_files(folder):
    os.makedirs(folder, exist_ok=True)
    for name, days in (("upload-1.tmp", 10), ("upload-2.tmp", 9), ("upload-3.tmp", 1)):
        path = os.path.join(folder, name)
        with open(path, "wb") as handle:
            handle.write(os.urandom(4096))
        age_file(path, days)


def demo_stale_backups(folder, days=5):
    """Nightly archives of an upload folder, made by a job outside the collection that stopped ``days`` ago."""
    os.makedirs(folder, exist_ok=True)
    for age in range(days, days + 3):
        stamp = time.strftime("%Y%m%d", time.gmtime(time.time() - age * 86400))
        path = os.path.join(folder, "uploads-%s.tar.gz" % stamp)
        with tarfile.open(path, "w:gz") as archive:
            data = os.urandom(2048)
            member = tarfile.TarInfo("uploads/photo-%d.bin" % age)
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
        with open(path + ".sha256", "w") as stream:
            stream.write("%s  %s\n" % (sha256(path), os.path.basename(path)))
        age_file(path, age)
        age_file(path + ".sha256", age)


def demo_application(folder):
    """An application's folder as deployments leave it: a config anyone may write and an .env with a placeholder."""
    os.makedirs(folder, exist_ok=True)
    config = os.path.join(folder, "config.yml")
    with open(config, "w") as stream:
        stream.write("listen: 127.0.0.1:8080\ndatabase: ../data/app.db\n")
    os.chmod(config, 0o666)
    env = os.path.join(folder, ".env")
    with open(env, "w") as stream:
        stream.write("DATABASE_URL=sqlite:///../data/app.db\nSECRET_KEY=changeme\n")
    os.chmod(env, 0o644)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("what", choices=["demo"])
    parser.add_argument("root")
    args = parser.parse_args(argv)
    print("demo estate in %s" % demo(args.root))


if __name__ == "__main__":
    main(sys.argv[1:])
