# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the SQLite modules share: argument specs, opening a database safely, statistics,
integrity checks, change-detecting ANALYZE, free-space arithmetic and verified backups.

Only the standard library is used: the modules run on the managed host's Python.
"""

import copy
import datetime
import fcntl
import hashlib
import os
import re
import sqlite3
import struct
import tempfile

from urllib.parse import quote

from ansible_collections.upkeep.maintenance.plugins.module_utils._files import (
    CHUNK,
    fsync_path,
    remove_if_present,
    space_by_file_system,
    unused_name,
)
from ansible_collections.upkeep.maintenance.plugins.module_utils._units import FILE_STAMP

SQLITE_COMMON_ARGUMENT_SPEC = dict(
    path=dict(type="path", required=True),
    busy_timeout=dict(type="float", default=30.0),
)

VACUUM_THRESHOLD_ARGUMENT_SPEC = dict(
    min_freelist_ratio=dict(type="float", default=0.1),
    min_freelist_pages=dict(type="int", default=256),
)

INTEGRITY_ARGUMENT_SPEC = dict(
    integrity=dict(type="str", default="full", choices=["full", "quick"]),
)

# A margin on top of the computed need of VACUUM: page overhead of the temporary database and journal headers.
SPACE_MARGIN = 1.05
# VACUUM builds its compacted copy in memory instead of a file in SQLite's temporary folder when the copy takes at
# most this share of the memory available: a 200 MiB database compacts about 10 % faster, and the temporary folder
# needs no room for it. The share leaves room for the page cache and for what else runs during the maintenance.
MEMORY_SHARE_FOR_VACUUM_COPY = 0.25
# Byte ranges SQLite's unix VFS locks: the pending, reserved and shared bytes of the database file, and the
# WAL-index locks with the dead-man switch of the -shm file, which every open connection in WAL mode holds.
DATABASE_LOCK_RANGE = (0x40000000, 2 + 510)
SHM_LOCK_RANGE = (120, 9)
FLOCK_FORMAT = "hhqqi4x"


def sqlite_common_argument_spec():
    return copy.deepcopy(SQLITE_COMMON_ARGUMENT_SPEC)


class SQLiteMaintenanceError(Exception):
    """A failure to report in one line. ``kind`` is ``corrupt``, ``locked`` or ``unusable``."""

    def __init__(self, message, kind="unusable"):
        super(SQLiteMaintenanceError, self).__init__(message)
        self.kind = kind


def explain(error, path, busy_timeout=None):
    """Turn an sqlite3 exception into an SQLiteMaintenanceError that says what it means for ``path``."""
    text = str(error)
    if "file is not a database" in text or "malformed" in text or "corrupt" in text:
        return SQLiteMaintenanceError("%s: %s" % (path, text), kind="corrupt")
    if "locked" in text or "busy" in text:
        waited = " after waiting %g s (busy_timeout)" % busy_timeout if busy_timeout is not None else ""
        return SQLiteMaintenanceError(
            "%s: the database is locked by another connection%s: %s" % (path, waited, text), kind="locked")
    if "readonly" in text or "read-only" in text:
        return SQLiteMaintenanceError("%s: cannot write: %s (check the file's and its folder's permissions)" % (path, text))
    if "unable to open" in text:
        return SQLiteMaintenanceError("%s: cannot open: %s (check the permissions of the file and its folder)" % (path, text))
    if "disk is full" in text or "database or disk is full" in text:
        return SQLiteMaintenanceError("%s: the disk is full: %s" % (path, text))
    return SQLiteMaintenanceError("%s: %s" % (path, text))


def require_database_file(path):
    if not os.path.lexists(path):
        raise SQLiteMaintenanceError("%s: no such file" % path)
    if os.path.isdir(path):
        raise SQLiteMaintenanceError("%s: is a folder, not a database file" % path)
    if not os.path.isfile(path):
        raise SQLiteMaintenanceError("%s: is not a regular file" % path)
    if not os.access(path, os.R_OK):
        raise SQLiteMaintenanceError("%s: not readable by this user" % path)


def connect(path, busy_timeout, readonly=False, immutable=False):
    """Open an existing database without ever creating one, and make sure it is a database.

    ``immutable`` is for backup files nobody else writes: no locks and no -wal/-shm files are used.
    ``readonly`` reads only (query_only). Where this user may write the database and its folder it opens it as any
    client of it would: the last connection to close a WAL database tidies up the -wal and -shm files it made,
    where a connection opened read-only leaves them behind.
    """
    require_database_file(path)
    writable = os.access(path, os.W_OK) and os.access(os.path.dirname(os.path.abspath(path)), os.W_OK | os.X_OK)
    uri = "file:%s?mode=%s" % (quote(os.path.abspath(path)), "ro" if immutable or (readonly and not writable) else "rw")
    if immutable:
        uri += "&immutable=1"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=busy_timeout, isolation_level=None)
    except sqlite3.Error as error:
        raise explain(error, path, busy_timeout)
    try:
        # SQLite reads the header lazily: this is where "file is not a database" shows.
        conn.execute("PRAGMA schema_version").fetchone()
        if readonly:
            conn.execute("PRAGMA query_only = 1")
    except sqlite3.Error as error:
        conn.close()
        raise explain(error, path, busy_timeout)
    return conn


def quote_identifier(name):
    return '"%s"' % name.replace('"', '""')


def pragma_value(conn, name):
    return conn.execute("PRAGMA %s" % name).fetchone()[0]


def database_stats(conn, path):
    page_size = pragma_value(conn, "page_size")
    page_count = pragma_value(conn, "page_count")
    freelist_count = pragma_value(conn, "freelist_count")
    wal_path = path + "-wal"
    return dict(
        page_size=page_size,
        page_count=page_count,
        freelist_count=freelist_count,
        freelist_ratio=round(float(freelist_count) / page_count, 4) if page_count else 0.0,
        reclaimable_bytes=freelist_count * page_size,
        size=os.path.getsize(path),
        wal_size=os.path.getsize(wal_path) if os.path.exists(wal_path) else 0,
        journal_mode=pragma_value(conn, "journal_mode"),
    )


def vacuum_due(stats, min_freelist_ratio, min_freelist_pages):
    """VACUUM is worth it when enough pages are free, both as a share of the file and in absolute terms."""
    return stats["freelist_count"] >= max(min_freelist_pages, 1) and stats["freelist_ratio"] >= min_freelist_ratio


def integrity_errors(conn, integrity="full", max_errors=100):
    """SQLite's own messages for what is wrong with the database, or an empty list when it is sound."""
    pragma = "quick_check" if integrity == "quick" else "integrity_check"
    try:
        messages = [row[0] for row in conn.execute("PRAGMA %s(%d)" % (pragma, max_errors))]
    except sqlite3.DatabaseError as error:
        return [str(error)]
    return [] if messages == ["ok"] else messages


def table_names(conn):
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    return [row[0] for row in rows]


def row_counts(conn):
    return dict((name, conn.execute("SELECT count(*) FROM %s" % quote_identifier(name)).fetchone()[0])
                for name in table_names(conn))


def statistics_snapshot(conn):
    """The planner statistics as comparable rows, so that an ANALYZE can be judged by its effect."""
    present = set(row[0] for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE name IN ('sqlite_stat1', 'sqlite_stat4')"))
    rows = []
    for table in ("sqlite_stat1", "sqlite_stat4"):
        if table in present:
            rows.extend(sorted((table,) + tuple(row) for row in conn.execute("SELECT * FROM %s" % table)))
    return rows


def analyze(conn, analysis_limit, commit):
    """Run ANALYZE in a transaction and keep it only when the statistics differ.

    With an analysis limit (as PRAGMA optimize uses), ANALYZE reads a bounded sample of each index,
    so the cost does not grow with the database and an unchanged database yields identical statistics.
    Returns whether the statistics differ; with ``commit`` false nothing is kept (check mode).
    """
    before = statistics_snapshot(conn)
    conn.execute("PRAGMA analysis_limit = %d" % analysis_limit)
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("ANALYZE")
        differ = statistics_snapshot(conn) != before
    except Exception:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT" if differ and commit else "ROLLBACK")
    return differ


def sqlite_temp_dir():
    """The folder SQLite puts its temporary files in (the same search order as SQLite's unix VFS)."""
    for candidate in (os.environ.get("SQLITE_TMPDIR"), os.environ.get("TMPDIR"), "/var/tmp", "/usr/tmp", "/tmp", "."):
        if candidate and os.path.isdir(candidate) and os.access(candidate, os.W_OK | os.X_OK):
            return candidate
    return "."


def memory_group(own_groups, cgroup_root):
    """(folder of the memory controller's hierarchy, group path in it, limit file, usage file) of this process, from
    control groups v1 (a memory line) or v2 (the unified line, where the root carries cgroup.controllers); None
    without either."""
    with open(own_groups) as lines:
        entries = [line.rstrip("\n").split(":", 2) for line in lines]
    for _hierarchy, controllers, group in entries:
        if "memory" in controllers.split(","):
            return os.path.join(cgroup_root, "memory"), group, "memory.limit_in_bytes", "memory.usage_in_bytes"
    for hierarchy, _controllers, group in entries:
        if hierarchy == "0" and os.path.exists(os.path.join(cgroup_root, "cgroup.controllers")):
            return cgroup_root, group, "memory.max", "memory.current"
    return None


def available_memory(meminfo="/proc/meminfo", own_groups="/proc/self/cgroup", cgroup_root="/sys/fs/cgroup"):
    """Bytes of memory this process can still take: the kernel's MemAvailable, lowered to what is left under the
    memory limit of its control group and of each group above it (a container's limit, a systemd unit's MemoryMax).
    None where that cannot be told. In a container the group's own folder is the hierarchy's root, which the walk
    up the group's path reaches."""
    try:
        with open(meminfo) as lines:
            available = next(int(line.split()[1]) * 1024 for line in lines if line.startswith("MemAvailable:"))
        found = memory_group(own_groups, cgroup_root)
    except (OSError, StopIteration, ValueError, IndexError):
        return None
    if found is None:
        return None
    hierarchy, group, limit_file, usage_file = found
    while True:
        folder = os.path.join(hierarchy, group.strip("/"))
        try:
            with open(os.path.join(folder, limit_file)) as limit, open(os.path.join(folder, usage_file)) as usage:
                maximum, used = limit.read().strip(), int(usage.read())
            if maximum != "max":
                available = min(available, int(maximum) - used)
        except (OSError, ValueError):
            pass  # a group of the path this mount namespace does not show, or the v2 root without limit files
        if not group.strip("/"):
            return max(available, 0)
        group = os.path.dirname(group.rstrip("/"))


def compacted_size(stats):
    """The bytes VACUUM's compacted copy of the database takes."""
    return (stats["page_count"] - stats["freelist_count"]) * stats["page_size"]


def vacuum_copy_fits_in_memory(stats):
    available = available_memory()
    return available is not None and compacted_size(stats) <= available * MEMORY_SHARE_FOR_VACUUM_COPY


def vacuum_space_shortfalls(path, stats, copy_in_memory):
    """Where VACUUM would run out of space: a list of (folder, bytes needed, bytes free) that do not fit.

    VACUUM builds a compacted copy in memory or in SQLite's temporary folder, then writes it back through the
    rollback journal (which holds the original pages) or the WAL (which receives the new pages).
    """
    used = compacted_size(stats)
    journal = used if stats["journal_mode"] == "wal" else stats["size"]
    needs = [(os.path.dirname(os.path.abspath(path)), journal, None)]
    if not copy_in_memory:
        needs.append((sqlite_temp_dir(), used, None))
    file_systems = space_by_file_system(needs)
    return [(fs["folder"], int(fs["needed"] * SPACE_MARGIN), fs["available"]) for fs in file_systems
            if int(fs["needed"] * SPACE_MARGIN) > fs["available"]]


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def backup_name(db_path, when):
    stem, suffix = os.path.splitext(os.path.basename(db_path))
    return "%s-%s%s" % (stem, when.strftime(FILE_STAMP), suffix)


def list_backups(folder, db_path):
    """Backups of ``db_path`` in ``folder`` written by sqlite_backup, newest first."""
    stem, suffix = os.path.splitext(os.path.basename(db_path))
    pattern = re.compile(r"^%s-(\d{8}T\d{6}Z)(?:\.(\d+))?%s$" % (re.escape(stem), re.escape(suffix)))
    found = []
    for name in os.listdir(folder):
        match = pattern.match(name)
        if match and os.path.isfile(os.path.join(folder, name)):
            found.append((match.group(1), int(match.group(2) or 0), os.path.join(folder, name)))
    return [entry[2] for entry in sorted(found, reverse=True)]


def unused_backup_path(folder, db_path, when):
    return unused_name(folder, *os.path.splitext(backup_name(db_path, when)))


def online_backup(source, folder, final_name, mode):
    """Copy an open database through SQLite's backup API into a hidden temporary file in ``folder``.

    The copy is one consistent snapshot (one step, under one read transaction), so writers in WAL
    mode go on meanwhile. Returns the temporary path; the caller verifies it and renames it.
    """
    fd, temporary = tempfile.mkstemp(prefix="." + final_name + ".", suffix=".tmp", dir=folder)
    try:
        os.fchmod(fd, mode)
        os.close(fd)
        target = sqlite3.connect(temporary, isolation_level=None)
        try:
            source.backup(target)
        finally:
            target.close()
        fsync_path(temporary)
    except Exception:
        remove_if_present(temporary)
        remove_if_present(temporary + "-journal")
        raise
    return temporary


def copy_with_digest(source, folder, final_name, mode):
    """Copy a file into a hidden temporary file in ``folder``; return its path and SHA-256."""
    fd, temporary = tempfile.mkstemp(prefix="." + final_name + ".", suffix=".tmp", dir=folder)
    digest = hashlib.sha256()
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as out, open(source, "rb") as stream:
            for block in iter(lambda: stream.read(CHUNK), b""):
                digest.update(block)
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
    except Exception:
        remove_if_present(temporary)
        raise
    return temporary, digest.hexdigest()


def _range_locked(path, start, length):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        query = struct.pack(FLOCK_FORMAT, fcntl.F_WRLCK, os.SEEK_SET, start, length, 0)
        return struct.unpack(FLOCK_FORMAT, fcntl.fcntl(fd, fcntl.F_GETLK, query))[0] != fcntl.F_UNLCK
    finally:
        os.close(fd)


def database_in_use(path):
    """Whether another process holds SQLite locks on the database, asked without opening it as a database
    (opening it could checkpoint or delete the WAL of a database about to be set aside)."""
    return _range_locked(path, *DATABASE_LOCK_RANGE) or _range_locked(path + "-shm", *SHM_LOCK_RANGE)


def verify_database_file(path, integrity, busy_timeout):
    """SQLite's messages for what is wrong with a database file nobody else writes, [] when sound."""
    try:
        conn = connect(path, busy_timeout, immutable=True)
    except SQLiteMaintenanceError as error:
        return [str(error)]
    try:
        return integrity_errors(conn, integrity)
    finally:
        conn.close()


def _copy_rowid_table(source, target, table):
    """Copy the rows of a rowid table that can be read, stepping over the rowids of unreadable pages; rows copied."""
    quoted = quote_identifier(table)
    width = len(target.execute("SELECT * FROM %s LIMIT 0" % quoted).description)
    insert = "INSERT OR IGNORE INTO %s (rowid, %s) VALUES (%s)" % (
        quoted, ", ".join(quote_identifier(column[1]) for column in target.execute("PRAGMA table_info(%s)" % quoted)),
        ", ".join("?" * (width + 1)))
    copied, last = 0, None
    while True:
        try:
            query = "SELECT rowid, * FROM %s%s ORDER BY rowid" % (quoted, "" if last is None else " WHERE rowid > ?")
            for row in source.execute(query, () if last is None else (last,)):
                target.execute(insert, row)
                copied, last = copied + 1, row[0]
            return copied
        except sqlite3.DatabaseError:
            # The cursor reads a row ahead, so the row before the unreadable page comes out on its own.
            row = _next_readable_row(source, quoted, 0 if last is None else last)
            if row is None:
                return copied
            target.execute(insert, row)
            copied, last = copied + 1, row[0]


def _first_row_from(source, quoted, rowid):
    """The first row at or after ``rowid``, None past the end; DatabaseError when the seek, or the whole row with its
    overflow pages, meets a corrupt page."""
    return source.execute("SELECT rowid, * FROM %s WHERE rowid >= ? ORDER BY rowid LIMIT 1" % quoted, (rowid,)).fetchone()


def _next_readable_row(source, quoted, last):
    """The first row after ``last`` that a seek reaches past an unreadable page: steps doubling until one is reached,
    then a bisection back to the first one, so that the rows of the next readable page are all kept."""
    step = 1
    while True:
        if last + step >= 2 ** 63 - 1:
            return None
        try:
            _first_row_from(source, quoted, last + step)
            break
        except sqlite3.DatabaseError:
            step *= 2
    unreadable, readable = last + step // 2, last + step
    while readable - unreadable > 1:
        middle = (unreadable + readable) // 2
        try:
            _first_row_from(source, quoted, middle)
            readable = middle
        except sqlite3.DatabaseError:
            unreadable = middle
    return _first_row_from(source, quoted, readable)


def salvage_rows(path, target_path):
    """What can be read of a corrupt database, table by table and row by row, into a new database: its schema, the
    readable rows, then the indexes, triggers and views that can be built on them. Rows copied per table, and the
    schema objects that could not be made."""
    source = sqlite3.connect("file:%s?mode=ro&immutable=1" % quote(os.path.abspath(path)), uri=True)
    target = sqlite3.connect(target_path, isolation_level=None)
    try:
        try:
            schema = source.execute("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL "
                                    "AND name NOT LIKE 'sqlite_%'").fetchall()
        except sqlite3.DatabaseError as error:
            raise SQLiteMaintenanceError("%s: the schema cannot be read, nothing can be salvaged: %s" % (path, error),
                                         kind="corrupt")
        target.execute("BEGIN")
        tables = [(name, sql) for kind, name, sql in schema if kind == "table"]
        for _name, sql in tables:
            target.execute(sql)
        copied, unmade = {}, []
        for name, sql in tables:
            if re.search(r"\bWITHOUT\s+ROWID\b", sql, re.I):
                copied[name] = 0
                try:
                    for row in source.execute("SELECT * FROM %s" % quote_identifier(name)):
                        target.execute("INSERT OR IGNORE INTO %s VALUES (%s)" % (quote_identifier(name), ", ".join("?" * len(row))), row)
                        copied[name] += 1
                except sqlite3.DatabaseError:
                    pass
            else:
                copied[name] = _copy_rowid_table(source, target, name)
        for kind, name, sql in schema:
            if kind != "table":
                try:
                    target.execute(sql)
                except sqlite3.Error:
                    unmade.append(name)
        target.execute("COMMIT")
        return copied, unmade
    finally:
        source.close()
        target.close()
