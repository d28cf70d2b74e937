"""Every module that walks folders or opens files by pattern, on trees an application user can make: named pipes,
sockets, devices, symbolic link loops, a folder nobody may read, names with a line end or bytes that are not UTF-8,
and a symbolic link planted where a private file is expected. Each must finish promptly, report what it could not
read, and never change anything outside what it was pointed at."""

import os
import shutil
import socket
import stat
import tempfile
import time

import pathlib
import pwd

import pytest

import certs

NEWLINE_NAME = "app\nlog.1"
BINARY_NAME = b"app-\xff\xfe.log.2"


@pytest.fixture
def hostile(make_estate):
    """A log folder with old rotated logs, a live log, and everything that is not a regular file, where an
    unprivileged user can reach it."""
    shared = tempfile.mkdtemp(prefix="upkeep-hostile-")
    os.chmod(shared, 0o755)
    root = pathlib.Path(shared) / "tree"
    (root / "sub").mkdir(parents=True)
    for index in range(3):
        path = root / ("app.log.%d" % (index + 3))
        path.write_text("2026-01-01T00:00:00Z ERROR old\n")
        make_estate.age_file(str(path), 30 + index)
    odd = root / NEWLINE_NAME
    odd.write_text("old\n")
    make_estate.age_file(str(odd), 40)
    binary = os.path.join(os.fsencode(str(root)), BINARY_NAME)
    with open(binary, "wb") as handle:
        handle.write(b"old\n")
    make_estate.age_file(binary, 40)
    (root / "app.log").write_text("2026-11-25T10:00:00Z ERROR now\n")
    os.mkfifo(str(root / "pipe.log"))
    os.mkfifo(str(root / "sub" / "pipe.log.9"))
    os.symlink("/dev/zero", str(root / "zero.log"))
    os.symlink("loop-b.log", str(root / "loop-a.log"))
    os.symlink("loop-a.log", str(root / "loop-b.log"))
    os.symlink(str(root), str(root / "sub" / "up"))
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(root / "socket.log"))
    (root / "locked").mkdir()
    (root / "locked" / "app.log.7").write_text("old\n")
    # The application's user owns its folder, except one folder it may not read.
    nobody = pwd.getpwnam("nobody")
    for folder, folders, files in os.walk(str(root)):
        for name in [folder] + [os.path.join(folder, entry) for entry in folders + files]:
            os.lchown(name, nobody.pw_uid, nobody.pw_gid)
    os.chown(str(root / "locked"), 0, 0)
    os.chmod(str(root / "locked"), 0)
    os.chmod(str(root / "sub"), 0o777)
    yield root
    os.chmod(str(root / "locked"), 0o755)
    listener.close()
    shutil.rmtree(shared)


def timed(run_module, *args, **kwargs):
    started = time.monotonic()
    result = run_module(*args, **kwargs)
    return result, time.monotonic() - started


# prune deletes through GNU find when it is on the PATH, through its own scan when it is not
@pytest.mark.parametrize("search_path", [None, "/usr/sbin:/sbin"], ids=["find", "scan"])
def test_prune_passes_over_what_is_not_a_regular_file_and_a_folder_it_cannot_read(run_module, hostile, search_path):
    result, elapsed = timed(run_module, "prune", path=str(hostile), patterns=["*"], recurse=True, age="7d",
                            min_keep=0, user="nobody", env=dict(PATH=search_path) if search_path else None)
    assert elapsed < 10 and result["rc"] == 0, result
    left = dict((entry["path"], entry["reason"]) for entry in result["left_alone"])
    assert left[str(hostile / "pipe.log")] == "not a regular file"
    assert left[str(hostile / "socket.log")] == "not a regular file"
    assert left[str(hostile / "zero.log")] == "symbolic link"
    assert left[str(hostile / "locked")].startswith("cannot read the folder: Permission denied")
    assert result["counts"]["pruned"] == 5  # three rotated logs and the two oddly named ones
    assert not os.path.lexists(str(hostile / NEWLINE_NAME))
    assert not os.path.lexists(os.path.join(os.fsencode(str(hostile)), BINARY_NAME))
    assert stat.S_ISFIFO(os.lstat(str(hostile / "pipe.log")).st_mode) and os.path.exists("/dev/zero")


def test_backup_verify_counts_only_regular_backups(run_module, hostile):
    result, elapsed = timed(run_module, "backup_verify", path=str(hostile), pattern="*.log*", max_age="1000d",
                            checksum="none", check_format=False, fail_on="never")
    assert elapsed < 10 and result["rc"] == 0, result
    assert result["count"] == 5  # app.log, three rotated logs, the binary name; not the pipe, socket, device or links
    assert result["latest"]["path"] == str(hostile / "app.log")


def test_log_scan_reads_only_regular_logs_from_a_glob_and_names_a_pipe_given_by_name(run_module, hostile):
    result, elapsed = timed(run_module, "log_scan", files=[str(hostile / "*.log"), str(hostile / "pipe.log")],
                            window="1000d")
    assert elapsed < 10, elapsed
    statuses = dict((entry["path"], (entry["status"], entry["matches"])) for entry in result["files"])
    assert statuses[str(hostile / "app.log")] == ("ok", 1)
    assert statuses[str(hostile / "pipe.log")] == ("failed", None)
    assert [entry["path"] for entry in result["files"]].count(str(hostile / "pipe.log")) == 1
    assert str(hostile / "socket.log") not in statuses and str(hostile / "zero.log") not in statuses
    failed = [entry for entry in result["files"] if entry["status"] == "failed"][0]
    assert failed["message"].endswith("a named pipe (FIFO), not a regular file")


def test_security_review_walks_loops_and_locked_folders_and_reads_no_pipe(run_module, hostile):
    env = hostile / "app.env"
    env.write_bytes(b"SECRET_KEY=CHANGE_ME\nNAME=\xff\xfe\n")
    result, elapsed = timed(run_module, "security_review", world_writable_roots=[str(hostile)],
                            env_files=[str(env), str(hostile / "pipe.log")], auth_log=str(hostile / "app.log"))
    assert elapsed < 10 and result["rc"] == 0, result
    assert result["world_writable"] == [str(hostile / "sub")]
    assert [(finding["key"], finding["problem"]) for finding in result["placeholders"]] == [("SECRET_KEY", "placeholder value")]
    failed = [entry for entry in result["upkeep_results"] if entry["status"] == "failed"]
    assert [entry["target"] for entry in failed] == [str(hostile / "pipe.log")]


def test_fixing_a_private_file_never_follows_a_link_planted_in_its_place(run_module, tmp_path):
    """An application user owns its folder and replaces its .env with a link to a file it wants opened up or
    locked: root's review must not chmod the target."""
    victim = tmp_path / "passwd"
    victim.write_text("root:x:0:0::/root:/bin/sh\n")
    os.chmod(str(victim), 0o644)
    app = tmp_path / "app"
    app.mkdir()
    os.symlink(str(victim), str(app / ".env"))
    real = app / "real.env"
    real.write_text("KEY=value\n")
    os.chmod(str(real), 0o644)
    result = run_module("security_review", private_files=[str(app / ".env"), str(real)], fix_permissions=True)
    assert stat.S_IMODE(os.stat(str(victim)).st_mode) == 0o644, "the link's target was changed"
    assert stat.S_IMODE(os.stat(str(real)).st_mode) == 0o600
    by_path = dict((entry["path"], entry) for entry in result["private_files"])
    linked = by_path[str(app / ".env")]
    assert linked["fixed"] is False and linked["link"] == str(victim) and linked["status"] == "critical"
    assert any("symbolic link to %s" % victim in problem for problem in linked["problems"])
    assert by_path[str(real)]["fixed"] is True and result["changed"] is True


def test_cert_expiry_and_backup_verify_name_a_pipe_given_as_their_path(run_module, hostile):
    certificate = certs.issue("x.test").write(hostile / "x.pem")
    result, elapsed = timed(run_module, "cert_expiry", paths=[certificate, str(hostile / "pipe.log")], fail_on="never")
    assert elapsed < 10
    assert [entry["status"] for entry in result["certificates"]] == ["ok", "error"]
    verified, elapsed = timed(run_module, "backup_verify", path=str(hostile / "pipe.log"), fail_on="never")
    assert elapsed < 10 and verified["checks"][0]["status"] in ("failed", "critical"), verified


def test_a_hostile_tree_is_archived_and_put_back_as_it_was_without_opening_a_pipe_or_following_a_link(run_module, hostile, tmp_path):
    taken, seconds = timed(run_module, "backup_create", kind="folder", src=str(hostile), dest=str(tmp_path / "backups"))
    assert taken["rc"] == 0 and seconds < 30, taken["msg"]
    restored, seconds = timed(run_module, "backup_restore", src=taken["path"], dest=str(tmp_path / "tree"))
    assert restored["rc"] == 0 and restored["changed"] and seconds < 30, restored["msg"]

    def listing(root):
        """Each path with its kind, mode, owner and link target; sockets are not archived by tar."""
        found = {}
        for folder, folders, files in os.walk(os.fsencode(str(root))):
            for name in folders + files:
                path = os.path.join(folder, name)
                info = os.lstat(path)
                if not stat.S_ISSOCK(info.st_mode):
                    found[os.path.relpath(path, os.fsencode(str(root)))] = (
                        stat.S_IFMT(info.st_mode), stat.S_IMODE(info.st_mode) if not stat.S_ISLNK(info.st_mode) else None,
                        info.st_uid, os.readlink(path) if stat.S_ISLNK(info.st_mode) else None)
        return found

    assert listing(tmp_path / "tree") == listing(hostile)
    assert stat.S_ISFIFO(os.lstat(str(tmp_path / "tree" / "pipe.log")).st_mode)
    assert os.readlink(str(tmp_path / "tree" / "zero.log")) == "/dev/zero"
    again = run_module("backup_restore", src=taken["path"], dest=str(tmp_path / "tree"))
    assert again["rc"] == 0 and again["changed"] is False, again
