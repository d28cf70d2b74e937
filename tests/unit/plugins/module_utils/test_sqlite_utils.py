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


def fake_host(tmp_path, available_kib, groups, files):
    """/proc/meminfo, /proc/self/cgroup and a /sys/fs/cgroup tree of files with their contents."""
    (tmp_path / "meminfo").write_text("MemTotal:       16000000 kB\nMemAvailable:   %d kB\n" % available_kib)
    (tmp_path / "cgroup").write_text(groups)
    root = tmp_path / "sys-fs-cgroup"
    root.mkdir()
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content)
    return dict(meminfo=str(tmp_path / "meminfo"), own_groups=str(tmp_path / "cgroup"), cgroup_root=str(root))


MIB = 1024 * 1024


def test_available_memory_is_lowered_to_the_room_left_under_a_systemd_unit_limit(tmp_path):
    host = fake_host(tmp_path, 8 * 1024 * 1024, "0::/system.slice/app.service\n", {
        "cgroup.controllers": "cpu memory pids\n",
        "system.slice/memory.max": "max\n", "system.slice/memory.current": "%d\n" % (2048 * MIB),
        "system.slice/app.service/memory.max": "%d\n" % (1024 * MIB),
        "system.slice/app.service/memory.current": "%d\n" % (256 * MIB)})

    assert _sqlite.available_memory(**host) == 768 * MIB


def test_available_memory_in_a_container_reads_the_limit_at_its_hierarchy_root(tmp_path):
    # Control groups v1 in a container: the group's path is the host's, its folder is mounted as the root.
    host = fake_host(tmp_path, 8 * 1024 * 1024, "5:cpu,cpuacct:/docker/4f2a\n4:memory:/docker/4f2a\n0::/\n", {
        "memory/memory.limit_in_bytes": "%d\n" % (512 * MIB), "memory/memory.usage_in_bytes": "%d\n" % (128 * MIB)})

    assert _sqlite.available_memory(**host) == 384 * MIB


def test_available_memory_without_a_limit_is_the_kernels_figure(tmp_path):
    host = fake_host(tmp_path, 4 * 1024 * 1024, "0::/user.slice\n", {
        "cgroup.controllers": "memory\n", "user.slice/memory.max": "max\n", "user.slice/memory.current": "1000\n"})

    assert _sqlite.available_memory(**host) == 4 * 1024 * MIB


def test_available_memory_is_unknown_where_no_hierarchy_has_the_memory_controller(tmp_path):
    host = fake_host(tmp_path, 4 * 1024 * 1024, "1:name=systemd:/\n0::/\n", {})

    assert _sqlite.available_memory(**host) is None


def test_available_memory_of_this_host_is_at_most_what_the_kernel_reports():
    with open("/proc/meminfo") as meminfo:
        kernel = next(int(line.split()[1]) * 1024 for line in meminfo if line.startswith("MemAvailable:"))
    available = _sqlite.available_memory()
    assert available is not None and 0 < available <= kernel * 1.1
