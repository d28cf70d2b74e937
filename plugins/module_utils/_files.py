# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Files written so that a crash never leaves half of one: atomic writes, fsync, SHA-256 digests and
sha256sum-style sidecars."""

import errno
import glob
import hashlib
import itertools
import os
import re
import shutil
import stat
import subprocess
import tempfile

CHUNK = 1024 * 1024

FILE_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
              (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def file_kind(mode):
    """What a file that is not a regular file is, in words."""
    return next((name for test, name in FILE_KINDS if test(mode)), "not a regular file")


def is_regular_file(path):
    """Whether path is a regular file, or a symbolic link to one; never opens it."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def open_regular(path):
    """A binary stream of a regular file (a symbolic link to one is followed). A named pipe, socket or device is
    refused with an OSError saying what it is, before or without waiting: opening a FIFO blocks until something
    writes to it, reading a device may never end or change it."""
    before = os.stat(path)
    if not stat.S_ISREG(before.st_mode):
        raise OSError(errno.EINVAL, "%s, not a regular file" % file_kind(before.st_mode), path)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    try:
        now = os.fstat(fd)
        if not stat.S_ISREG(now.st_mode):  # replaced between the two looks
            raise OSError(errno.EINVAL, "%s, not a regular file" % file_kind(now.st_mode), path)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def change_mode_here(path, mode, uid=-1):
    """chmod (and chown when uid is not -1) of the file at path itself, never of what a symbolic link there points
    to: a link planted where a private file was expected must not hand root's chmod to its target (pointed at
    /etc/passwd, a chmod 0600 locks every other user out). Raises OSError (ELOOP) for a link."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY)
    try:
        os.fchmod(fd, mode)
        if uid != -1:
            os.fchown(fd, uid, -1)
    finally:
        os.close(fd)


class FormatError(Exception):
    """A backup that does not read as what it is: the message says where it broke."""


class TooLarge(ValueError):
    """A file larger than a reader takes: refused before it is read."""


def read_regular_file(path, limit=None):
    """The bytes of a regular file; with limit, TooLarge for a larger one, found from its size before it is read and
    never holding more than limit + 1 bytes of one that grows meanwhile (a sparse file is read to its end, holes
    included)."""
    with open_regular(path) as stream:
        if limit is None:
            return stream.read()
        if os.fstat(stream.fileno()).st_size > limit:
            raise TooLarge("larger than %d MiB" % (limit // 1024 // 1024))
        data = stream.read(limit + 1)
        if len(data) > limit:
            raise TooLarge("larger than %d MiB" % (limit // 1024 // 1024))
        return data


def sha256_stream(stream):
    """(SHA-256 in hex, bytes read) of what is left of a binary stream."""
    digest, size = hashlib.sha256(), 0
    for block in iter(lambda: stream.read(CHUNK), b""):
        digest.update(block)
        size += len(block)
    return digest.hexdigest(), size


def sha256_file(path):
    with open(path, "rb") as stream:
        return sha256_stream(stream)[0]


def checksum_sidecar(path):
    return path + ".sha256"


def read_checksum(path):
    """The digest recorded in ``path``'s sha256sum-style sidecar, None when there is none, "" when it holds none."""
    sidecar = checksum_sidecar(path)
    if not os.path.lexists(sidecar):
        return None
    try:
        with open_regular(sidecar) as stream:
            fields = stream.read(4096).split()
    except OSError as error:
        if error.errno != errno.EINVAL:
            raise
        return ""  # a FIFO or device in the sidecar's place records nothing
    return fields[0].decode("ascii").lower() if fields and re.match(rb"^[0-9a-fA-F]{64}$", fields[0]) else ""


def fsync_path(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path, data, mode):
    folder = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.rename(temporary, path)
    except Exception:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    fsync_path(folder)


def space_by_file_system(needs):
    """What folders need against what their file systems have: ``needs`` holds (folder, bytes, label) triples, and
    folders on one file system add up. One dict per file system, in the order first named, with the first
    ``folder``, ``needed``, ``available`` (to users other than root) and the ``labels`` that are not None."""
    file_systems = {}
    for folder, need, label in needs:
        device = os.stat(folder).st_dev
        if device not in file_systems:
            stats = os.statvfs(folder)
            file_systems[device] = dict(folder=folder, needed=0, available=stats.f_bavail * stats.f_frsize, labels=[])
        file_systems[device]["needed"] += need
        if label is not None:
            file_systems[device]["labels"].append(label)
    return list(file_systems.values())


def numbered_names(folder, stem, suffix):
    """STEM SUFFIX in folder, then STEM.1 SUFFIX, STEM.2 SUFFIX and so on."""
    yield os.path.join(folder, stem + suffix)
    for serial in itertools.count(1):
        yield os.path.join(folder, "%s.%d%s" % (stem, serial, suffix))


def unused_name(folder, stem, suffix):
    """The first of numbered_names that no file has now."""
    return next(name for name in numbered_names(folder, stem, suffix) if not os.path.lexists(name))


# A file system without hard links (some network and FUSE mounts, vfat) answers one of these.
NO_HARD_LINKS = (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK)


def rename_unused(temporary, folder, stem, suffix):
    """Gives the file at temporary the first of numbered_names free, never replacing a file, and returns it. Hosts
    writing into one shared folder may pick the same name in the same second: a hard link fails on a name taken,
    where a look followed by a rename would replace the other host's file. Without hard links, a look and a rename."""
    for name in numbered_names(folder, stem, suffix):
        try:
            os.link(temporary, name)
        except FileExistsError:
            continue
        except OSError as error:
            if error.errno not in NO_HARD_LINKS:
                raise
            if os.path.lexists(name):
                continue
            os.rename(temporary, name)
            return name
        os.unlink(temporary)
        return name


def write_checksum(path, digest, mode):
    """A sidecar that ``sha256sum -c`` reads from the backup's folder."""
    write_atomically(checksum_sidecar(path), "%s  %s\n" % (digest, os.path.basename(path)), mode)


def gnu_command(name, banner):
    """The path of the command name where it is GNU's (its --version names banner, as b"GNU tar"), else None."""
    command = shutil.which(name)
    if command and banner in subprocess.run([command, "--version"], capture_output=True, check=False).stdout:
        return command
    return None


def remove_if_present(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def is_glob(path):
    return bool(set("*?[") & set(path))


def expand_glob(path):
    """The files a glob matches, in name order; a path without glob characters as it is."""
    return sorted(glob.glob(path, recursive=True)) if is_glob(path) else [path]


def parse_mode(mode):
    """Permission bits from an octal string such as '0600', or an int as it is; ValueError otherwise."""
    try:
        bits = mode if isinstance(mode, int) and not isinstance(mode, bool) else int(str(mode), 8)
    except ValueError:
        bits = -1
    if not 0 <= bits <= 0o7777:
        raise ValueError("mode must be an octal string such as '0600', got %r" % (mode,))
    return bits
