# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Files written so that a crash never leaves half of one: atomic writes, fsync, SHA-256 digests and
sha256sum-style sidecars."""

import glob
import hashlib
import os
import re
import tempfile

CHUNK = 1024 * 1024


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def checksum_sidecar(path):
    return path + ".sha256"


def read_checksum(path):
    """The digest recorded in ``path``'s sha256sum-style sidecar, or None when there is none."""
    sidecar = checksum_sidecar(path)
    if not os.path.exists(sidecar):
        return None
    with open(sidecar) as stream:
        fields = stream.read().split()
    return fields[0].lower() if fields and re.match(r"^[0-9a-fA-F]{64}$", fields[0]) else ""


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


def write_checksum(path, digest, mode):
    """A sidecar that ``sha256sum -c`` reads from the backup's folder."""
    write_atomically(checksum_sidecar(path), "%s  %s\n" % (digest, os.path.basename(path)), mode)


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
    if isinstance(mode, int):
        return mode
    try:
        return int(str(mode), 8)
    except ValueError:
        raise ValueError("mode must be an octal string such as '0600', got %r" % (mode,))
