#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: prune
short_description: Retention in one call - delete, compress or archive old files, never the last good copies
version_added: 0.1.0
description:
  - Finds the files under O(path) whose names match O(patterns) and prunes those older than O(age) (by modification
    time) and/or beyond the newest O(keep).
  - The newest O(min_keep) files are never pruned, whatever their age, so that a backup job that silently stopped
    cannot lead to deleting the last good copies.
  - O(action) deletes the files, compresses them (gzip or zstd, written to a temporary name, synced and renamed, with
    the original's times and mode), or moves them into a dated folder under O(archive_dir).
  - Symbolic links are never followed nor touched, and nothing outside O(path) is ever pruned.
author:
  - upkeep.maintenance contributors (@upkeep)
extends_documentation_fragment:
  - upkeep.maintenance.attributes
  - upkeep.maintenance.attributes.PLATFORM
attributes:
  check_mode:
    support: full
    details:
      - Check mode lists the files that would be pruned; RV(bytes_freed) is then what deleting them would free
        (compression savings are not known before compressing).
  diff_mode:
    support: none
options:
  path:
    description:
      - The folder under which files are pruned.
    type: path
    required: true
  patterns:
    description:
      - Shell patterns of the file names to consider, for example V(*.log.*) or V(app-*.db).
    type: list
    elements: str
    default: ['*']
  recurse:
    description:
      - Consider files in the subfolders of O(path) too (one newest-first order across all of them).
    type: bool
    default: false
  units:
    description:
      - V(files) prunes the files that match. V(folders) prunes the folders directly under O(path) that match, each
        a backup of its own (C(backup-20261101/)), as a whole - dated by the newest file in it, deleted or archived
        with what is inside, its sidecars beside it (O(companions)) going with it. Symbolic links are left alone.
    type: str
    choices: [files, folders]
    default: files
  age:
    description:
      - Prune files not modified for longer than this (V(90m), V(26h), V(30d), V(2w) or seconds).
      - With O(keep) as well, a file must be both older and beyond the newest O(keep) to be pruned.
    type: str
  keep:
    description:
      - Keep the newest this many files; prune the rest (subject to O(age) when it is set too).
    type: int
  min_keep:
    description:
      - Never prune the newest this many files, whatever O(age) and O(keep) say.
    type: int
    default: 1
  action:
    description:
      - What to do with the files to prune.
    type: str
    choices: [delete, compress, archive]
    default: delete
  compression:
    description:
      - Compressor for O(action=compress). V(zstd) needs the zstd command. Files already compressed are left as they are.
    type: str
    choices: [gzip, zstd]
    default: gzip
  archive_dir:
    description:
      - For O(action=archive), the folder that receives a C(YYYY-MM-DD) folder per modification date of the files.
        By default C(archive) inside O(path); files already inside it are never considered.
    type: path
  companions:
    description:
      - File name suffixes of the files that belong to each pruned file, such as its checksum sidecar; they are deleted
        or archived with it and are not counted. Ignored for O(action=compress).
    type: list
    elements: str
    default: ['.sha256']
  ignore_missing:
    description:
      - A O(path) that does not exist holds nothing to prune, instead of failing the task.
    type: bool
    default: false
  max_listed:
    description:
      - At most this many pruned files are listed in RV(files); the counts are always complete.
    type: int
    default: 100
notes:
  - With nothing protected (no O(keep), O(min_keep=0)), O(age) set, O(action=delete), O(units=files) and every name
    matching (O(patterns) holding V(*)), the files are deleted by GNU find where it is installed, which does that
    job in C; its records of what it deleted make the result. Where find reports an error, the module's own scan goes
    over what is left and says why each file is left alone. Without GNU find, the module's scan does it all.
seealso:
  - module: upkeep.maintenance.backup_verify
"""

EXAMPLES = r"""
- name: Delete backups older than 30 days, but always keep the newest 7
  upkeep.maintenance.prune:
    path: /var/backups/app
    patterns: ["app-*.db", "app-*.db.sha256"]
    age: 30d
    min_keep: 7

- name: Compress rotated logs after a day
  upkeep.maintenance.prune:
    path: /var/log/app
    patterns: ["*.log.[0-9]*"]
    age: 1d
    min_keep: 0
    action: compress
    compression: zstd

- name: Move logs older than 30 days into dated folders
  upkeep.maintenance.prune:
    path: /var/log/app
    patterns: ["*.gz"]
    age: 30d
    min_keep: 0
    action: archive
    archive_dir: /srv/archive/app-logs
"""

RETURN = r"""
files:
  description: The oldest O(max_listed) of the files pruned (or that would be, in check mode), oldest first.
  returned: always
  type: list
  elements: dict
  sample: [{"path": "/var/backups/app/app-20261001T020000Z.db", "size": 104857600, "modified": "2026-10-01T02:00:00Z",
            "result": "/var/backups/app/app-20261001T020000Z.db"}]
files_truncated:
  description: Whether RV(files) was cut at O(max_listed).
  returned: always
  type: bool
counts:
  description: Files C(matched) by the patterns, C(kept), C(pruned), and C(left_alone) (symbolic links, special files,
    files that could not be handled).
  returned: always
  type: dict
  sample: {"matched": 40, "kept": 7, "pruned": 33, "left_alone": 0}
bytes_freed:
  description: Bytes given back to the file system (deleted sizes, or sizes saved by compression).
  returned: always
  type: int
  sample: 3460300800
left_alone:
  description: Paths left alone and why, at most O(max_listed).
  returned: always
  type: list
  elements: dict
  sample: [{"path": "/var/backups/app/latest.db", "reason": "symbolic link"}]
upkeep_results:
  description: One V(prune) entry for O(path) with the counts and V(bytes_reclaimed) as metrics.
  returned: always
  type: list
  elements: dict
"""

import datetime
import errno
import fnmatch
import gzip
import heapq
import itertools
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.upkeep.maintenance.plugins.module_utils._backups import set_size, unit_time
from ansible_collections.upkeep.maintenance.plugins.module_utils._files import CHUNK, fsync_path, gnu_command, remove_if_present
from ansible_collections.upkeep.maintenance.plugins.module_utils._results import result_entry
from ansible_collections.upkeep.maintenance.plugins.module_utils._units import human_bytes, human_duration, parse_duration, plural, utc_stamp


COMPRESSED_SUFFIXES = (".gz", ".zst", ".xz", ".bz2", ".lz4", ".zip")
SUFFIX = dict(gzip=".gz", zstd=".zst")
FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# Folders kept open for the deletions at once; more are closed and opened again as needed.
MAX_OPEN_FOLDERS = 64
# What find notes in its second output, each record ended by a NUL: a name with a companion's suffix, a link, another
# kind of file; a regular file kept is an empty record.
FOUND_COMPANION = b"C"
FOUND_LINK = b"L"
FOUND_OTHER = b"O"
FILE_NAMES = sys.getfilesystemencoding()
NAME_ERRORS = sys.getfilesystemencodeerrors()


def name_matcher(patterns):
    """Whether a name matches any of the shell patterns, in one expression for all of them; None when one of them is
    "*" and every name does (the default: the expression would take a tenth of the scan of 200,000 files). No pattern
    matches nothing (an empty alternation would match every name)."""
    if "*" in patterns:
        return None
    if not patterns:
        return lambda name: False
    return re.compile("|".join(fnmatch.translate(pattern) for pattern in patterns)).match


def exists_in(descriptor, name):
    """Whether the open folder holds name (a link counts, whatever it points to); when that cannot be asked (a folder
    without search permission), it does."""
    try:
        os.stat(name, dir_fd=descriptor, follow_symlinks=False)
    except FileNotFoundError:
        return False
    except OSError:
        pass
    return True


def oldest(count, mtimes, paths, sizes):
    """The (mtime, path, size, None) of the count oldest files, paths given as find writes them. Only the files as old
    as the count-th oldest are made tuples: for every file, 100,000 took a tenth of a second more."""
    if count <= 0:
        return []
    boundary = sorted(mtimes)[count - 1] if len(mtimes) > count else float("inf")
    return heapq.nsmallest(count, ((mtimes[index], paths[index].decode(FILE_NAMES, NAME_ERRORS), sizes[index], None)
                                   for index in itertools.compress(range(len(mtimes)), map(boundary.__ge__, mtimes))))


class Candidates(list):
    """The (mtime, path, size) of the files the scan finds, selected from once it is done."""
    deleted_here = frozenset()  # nothing is deleted while the scan lists a folder

    def folder(self, prefix, descriptor):
        """The scan lists this folder next."""


class PrunedAsFound(object):
    """Where the scan puts the files when no newest one is protected (no keep, min_keep 0) and they are deleted: each
    one older than the age goes as the scan meets it, through the folder being listed, as find -delete does. Selected
    after the scan instead, 200,000 files took a tenth longer: each is visited twice. A companion's file is only known
    at the end of its folder's listing: the names deleted in the folder are kept until then."""

    def __init__(self, retention, cutoff):
        self.retention, self.cutoff = retention, cutoff
        self.check_mode = retention.module.check_mode
        self.matched, self.chosen, self.freed, self.pruned, self.pruned_count = 0, 0, 0, [], 0
        self.prefix_length, self.descriptor, self.deleted_here = 0, None, set()

    def folder(self, prefix, descriptor):
        self.prefix_length, self.descriptor, self.deleted_here = len(prefix), descriptor, set()

    def append(self, candidate):
        self.matched += 1
        mtime, path, size = candidate
        if mtime >= self.cutoff:
            return
        self.chosen += 1
        if not self.check_mode:
            name = path[self.prefix_length:]
            try:
                os.unlink(name, dir_fd=self.descriptor)
            except OSError as error:
                self.retention.leave_alone(path, str(error))
                return
            self.deleted_here.add(name)
        self.freed += size
        self.pruned_count += 1
        self.pruned.append((mtime, path, size, None))

    def delete_companion(self, prefix, entry):
        try:
            self.freed += entry.stat(follow_symlinks=False).st_size
            os.unlink(entry.name, dir_fd=self.descriptor)
        except OSError as error:
            self.retention.leave_alone(prefix + entry.name, str(error))


class Retention(object):
    def __init__(self, module, age_seconds):
        self.module = module
        self.params = module.params
        self.root = os.path.realpath(self.params["path"])
        self.archive_dir = os.path.realpath(self.params["archive_dir"] or os.path.join(self.root, "archive"))
        self.age_seconds = age_seconds
        self.left_alone = []
        self.left_alone_count = 0
        self.companion_paths = set()
        self.folder_identities = {}
        self.open_folders = {}
        self.matches = name_matcher(self.params["patterns"])
        self.companions = tuple(self.params["companions"])
        self.action = self.params["action"]
        self.compressing = self.action == "compress"
        self.units_are_folders = self.params["units"] == "folders"

    def leave_alone(self, path, reason):
        self.left_alone_count += 1
        if len(self.left_alone) < self.params["max_listed"]:
            self.left_alone.append(dict(path=path, reason=reason))

    def folder_candidates(self):
        """(time, path, size) of the folders matching the patterns: a folder backup's time is its newest file's, its
        size its files'."""
        found = []
        identity = os.lstat(self.root)  # for the deletion of the folders' sidecars beside them
        self.folder_identities[self.root] = (identity.st_dev, identity.st_ino)
        with os.scandir(self.root) as entries:
            entries = list(entries)
        names = set(entry.name for entry in entries)
        for entry in entries:
            suffix = next((suffix for suffix in self.companions if entry.name.endswith(suffix)), None)
            if suffix and entry.name[:-len(suffix)] in names and not entry.is_symlink():
                self.companion_paths.add(entry.path)
                continue
            if self.matches is not None and not self.matches(entry.name):
                continue
            if entry.is_symlink():
                self.leave_alone(entry.path, "symbolic link")
            elif entry.is_dir(follow_symlinks=False) and os.path.realpath(entry.path) != self.archive_dir:
                found.append((unit_time(entry.path), entry.path, set_size(entry.path)))
        return found

    def candidates(self, found):
        """Put (mtime, path, size) of every regular file matching the patterns into found, folder by folder in the
        order the file system lists them. Folders are entered without following links, so every file found is inside
        the root; each folder's identity is kept for the deletions."""
        pending = [self.root]
        while pending:
            folder = pending.pop()
            try:
                descriptor = os.open(folder, FOLDER_FLAGS)
            except OSError as error:
                if folder == self.root:
                    raise
                self.leave_alone(folder, "cannot read the folder: %s" % (error.strerror or error))
                continue
            try:
                self.scan_folder(folder, descriptor, pending, found)
            finally:
                os.close(descriptor)
        return found

    def scan_folder(self, folder, descriptor, pending, found):
        """Put the folder's matching files into found as (mtime, path, size) and its subfolders into pending; the stat
        calls are relative to the open folder, as the deletions will be. The entries are taken as the folder lists
        them, not gathered first: on 200,000 files, entries held with their stats cost a third of the scan. A name
        with a companion's suffix waits for the end of the folder, when whether its file is beside it can be asked.
        Only numbers and strings are kept per file: such tuples are not tracked by Python's garbage collector, which
        would otherwise walk them again and again while the list grows."""
        identity = os.fstat(descriptor)
        self.folder_identities[folder] = (identity.st_dev, identity.st_ino)
        prefix = os.path.join(folder, "")  # scanned through a descriptor, entry.path is the name only
        maybe_companions = []
        found.folder(prefix, descriptor)
        companions, matches, consider = self.companions, self.matches, self.consider  # looked up once per folder
        with os.scandir(descriptor) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    self.enter(prefix + entry.name, pending)
                elif companions and entry.name.endswith(companions):
                    maybe_companions.append(entry)
                elif matches is None or matches(entry.name):
                    consider(prefix, entry, found)
        self.settle_companions(prefix, descriptor, maybe_companions, found)

    def settle_companions(self, prefix, descriptor, maybe_companions, found):
        """Of the entries of the open folder with a companion's suffix: delete those whose file was deleted, keep
        those whose file is there, consider the others as files of their own."""
        for entry in maybe_companions:
            stem = os.path.splitext(entry.name)[0]
            if stem in found.deleted_here:
                if not entry.is_symlink():
                    found.delete_companion(prefix, entry)
            elif exists_in(descriptor, stem):
                if not entry.is_symlink():
                    self.companion_paths.add(prefix + entry.name)
            elif self.matches is None or self.matches(entry.name):
                self.consider(prefix, entry, found)

    def enter(self, path, pending):
        if self.params["recurse"] and not (self.action == "archive"
                                           and os.path.realpath(path) == self.archive_dir):
            pending.append(path)

    def consider(self, prefix, entry, found):
        """Add a matching entry to found when it is a regular file to prune; say why it is left alone otherwise."""
        if entry.is_symlink():
            self.leave_alone(prefix + entry.name, "symbolic link")
            return
        if self.compressing and entry.name.endswith(COMPRESSED_SUFFIXES):
            return
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError as error:  # gone since the folder was listed
            self.leave_alone(prefix + entry.name, error.strerror or str(error))
            return
        if stat.S_ISREG(info.st_mode):
            found.append((info.st_mtime, prefix + entry.name, info.st_size))
        else:
            self.leave_alone(prefix + entry.name, "not a regular file")

    def unlink_scanned(self, path):
        """Delete a file through the folder the scan found it in: a folder replaced since (by a link elsewhere, say)
        is refused rather than followed."""
        folder, _slash, name = path.rpartition(os.sep)
        folder = folder or os.sep
        descriptor = self.open_folders.get(folder)
        if descriptor is None:
            if len(self.open_folders) >= MAX_OPEN_FOLDERS:
                self.close_folders()
            descriptor = os.open(folder, FOLDER_FLAGS)
            identity = os.fstat(descriptor)
            if (identity.st_dev, identity.st_ino) != self.folder_identities.get(folder):
                os.close(descriptor)
                raise OSError(errno.ESTALE, "%s was replaced since the scan" % folder)
            self.open_folders[folder] = descriptor
        os.unlink(name, dir_fd=descriptor)

    def close_folders(self):
        for descriptor in self.open_folders.values():
            os.close(descriptor)
        self.open_folders.clear()

    def select(self, found, protected):
        """The files to prune: beyond the protected newest, older than age; in the order found. Deleted by age across
        folders instead, 200,000 files in 20 folders took a fifth longer: the file system goes from folder to folder.
        Candidates are distinct tuples, so "not among the n newest" is "older than the n-th newest"."""
        chosen = found
        if protected:
            if len(found) <= protected:
                return []
            nth_newest = heapq.nlargest(protected, found)[-1]
            chosen = [candidate for candidate in chosen if candidate < nth_newest]
        if self.age_seconds is not None:
            cutoff = (time.time() - self.age_seconds,)
            chosen = [candidate for candidate in chosen if candidate < cutoff]
        return chosen

    def compress(self, path, mtime, size):
        target = path + SUFFIX[self.params["compression"]]
        if os.path.lexists(target):
            raise OSError("%s already exists" % target)
        folder = os.path.dirname(path)
        fd, temporary = tempfile.mkstemp(prefix="." + os.path.basename(target) + ".", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "wb") as output:
                if self.params["compression"] == "gzip":
                    with open(path, "rb") as source, gzip.GzipFile(
                            filename=os.path.basename(path), mode="wb", fileobj=output, mtime=int(mtime)) as packed:
                        shutil.copyfileobj(source, packed, CHUNK)
                else:
                    zstd = shutil.which("zstd")
                    if not zstd:
                        raise OSError("compression: zstd needs the zstd command")
                    subprocess.run([zstd, "-q", "-c", "--", path], stdout=output, check=True)
                output.flush()
                os.fsync(output.fileno())
            shutil.copystat(path, temporary)
            owner = os.lstat(path)
            os.chown(temporary, owner.st_uid, owner.st_gid)
            os.rename(temporary, target)
        except (OSError, subprocess.CalledProcessError):
            remove_if_present(temporary)
            raise
        fsync_path(folder)
        os.unlink(path)
        return target, size - os.path.getsize(target)

    def archive(self, path, mtime):
        day = datetime.datetime.fromtimestamp(mtime, datetime.timezone.utc).strftime("%Y-%m-%d")
        folder = os.path.join(self.archive_dir, day)
        os.makedirs(folder, exist_ok=True)
        target = os.path.join(folder, os.path.basename(path))
        if os.path.lexists(target):
            raise OSError("%s already exists" % target)
        shutil.move(path, target)
        return target, 0

    def archive_with_companions(self, path, mtime, size):
        result = self.archive(path, mtime)
        for companion in self.companions_of(path):
            self.archive(companion, os.stat(companion).st_mtime)
        return result

    def companions_of(self, path):
        if not self.companion_paths:
            return ()
        return [path + suffix for suffix in self.companions if path + suffix in self.companion_paths]

    def delete(self, path, mtime, size):
        """(None, bytes freed) of deleting a candidate and its companions. The scan found a regular file, or with units
        folders a folder (never a link): no need to ask again."""
        companions = self.companions_of(path)
        freed = size + sum(os.path.getsize(companion) for companion in companions) if companions else size
        if self.units_are_folders:
            shutil.rmtree(path)
        else:
            self.unlink_scanned(path)
        for doomed in companions:
            self.unlink_scanned(doomed)
        return None, freed

    def run(self):
        try:
            return self.prune_chosen()
        finally:
            self.close_folders()

    def prune_chosen(self):
        protected = max(self.params["keep"] or 0, self.params["min_keep"])
        if not protected and self.age_seconds is not None and self.action == "delete" and not self.units_are_folders:
            sink = PrunedAsFound(self, time.time() - self.age_seconds)
            find = gnu_command("find", b"GNU findutils") if self.matches is None else None
            if find:
                self.prune_with_find(find, sink)
            else:
                self.candidates(sink)
            return self.outcome(sink.matched, sink.chosen, sink.pruned_count, sink.pruned, sink.freed)
        found = self.folder_candidates() if self.units_are_folders else self.candidates(Candidates())
        chosen = self.select(found, protected)
        pruned, freed = [], 0
        # (result path or None when deleted, bytes freed) of pruning one candidate
        prune = dict(delete=self.delete, compress=self.compress, archive=self.archive_with_companions)[self.action]
        for mtime, path, size in chosen:
            result = None
            if self.module.check_mode:
                freed += size if self.action == "delete" else 0
            else:
                try:
                    result, saved = prune(path, mtime, size)
                except (OSError, shutil.Error, subprocess.CalledProcessError) as error:
                    self.leave_alone(path, str(error))
                    continue
                freed += saved
            pruned.append((mtime, path, size, result))
        return self.outcome(len(found), len(chosen), len(pruned), pruned, freed)

    def prune_with_find(self, find, sink):
        """Prune through GNU find, which deletes each file older than the age as it meets it, in C: 200,000 files took
        a third longer through the scan in Python. It writes the (mtime, size, path) of those deleted to its output,
        and notes the rest in a file of its own: a kept file as an empty record, links, other kinds of files and names
        with a companion's suffix as tagged paths, which are settled here as the scan settles them. When find reports
        an error (a folder it cannot read, a file it cannot delete), the scan goes over what is left, and says why."""
        # Only the records come through a pipe, which is then read whole: read along with find's errors, 100,000
        # records cost 0.1 s more CPU time in polls and reads of 32 KiB. They stay off the disk, which may be full:
        # that is when prune runs.
        with tempfile.TemporaryFile() as notes:
            process = subprocess.run(self.find_command(find, sink.cutoff, "/dev/fd/%d" % notes.fileno()),
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, pass_fds=(notes.fileno(),),
                                     env=dict(os.environ, LC_ALL="C"), check=False)
            notes.seek(0)
            noted = notes.read().split(b"\0")[:-1]
        if process.returncode and self.module.check_mode:  # nothing was deleted: the scan does it all
            self.candidates(sink)
            return
        fields = process.stdout.split(b"\0")[:-1]
        mtimes, sizes, paths = list(map(float, fields[0::3])), list(map(int, fields[1::3])), fields[2::3]
        sink.matched += len(paths)
        sink.chosen += len(paths)
        sink.pruned_count += len(paths)
        sink.freed += sum(sizes)
        sink.pruned.extend(oldest(self.params["max_listed"], mtimes, paths, sizes))
        companions = []
        for record in filter(None, noted):
            path = record[1:].decode(FILE_NAMES, NAME_ERRORS)
            if record[:1] == FOUND_COMPANION:
                companions.append(path)
            elif not process.returncode:  # else the scan lists them
                self.leave_alone(path, "symbolic link" if record[:1] == FOUND_LINK else "not a regular file")
        if process.returncode:
            self.settle_after_find(companions, paths, sink, only_of_deleted=True)
            self.candidates(sink)
        else:
            sink.matched += noted.count(b"")
            self.settle_after_find(companions, paths, sink, only_of_deleted=False)

    def find_command(self, find, cutoff, notes):
        """find's arguments: prune the regular files under the root older than cutoff, as the scan does."""
        suffixes = []
        # -path rather than -name, which copies each file's name out of its path before matching it (0.03 s of CPU
        # more for 200,000 files). Its * spans folders, so a suffix holding a slash, which ends no file name, is
        # left out.
        for suffix in self.companions:
            if os.sep not in suffix:
                suffixes += ["-o", "-path", "*" + re.sub(r"([][*?\\])", r"\\\1", suffix)]
        prune = ["-printf", "%T@\\0%s\\0%p\\0"]
        if not self.module.check_mode:
            prune = ["(", "-delete"] + prune + ["-o", "-true", ")"]
        return ([find, "-P", self.root, "-mindepth", "1"] + ([] if self.params["recurse"] else ["-maxdepth", "1"])
                + ["-type", "d"]
                + (["-o", "("] + suffixes[1:] + [")", "-fprintf", notes, FOUND_COMPANION.decode() + "%p\\0"]
                   if suffixes else [])
                + ["-o", "-type", "f", "!", "-newermt", "@%.9f" % cutoff] + prune
                + ["-o", "-type", "f", "-fprintf", notes, "\\0",
                   "-o", "-type", "l", "-fprintf", notes, FOUND_LINK.decode() + "%p\\0",
                   "-o", "-fprintf", notes, FOUND_OTHER.decode() + "%p\\0"])

    def settle_after_find(self, companions, deleted, sink, only_of_deleted):
        """Settle the names with a companion's suffix find noted, folder by folder, as the scan would have: only those
        whose file find deleted when the scan goes over the rest after it."""
        if not companions:
            return
        names = {}
        for path in companions:
            folder, _slash, name = path.rpartition(os.sep)
            names.setdefault(folder or os.sep, set()).add(name)
        deleted_names = dict((folder, set()) for folder in names)
        if not self.module.check_mode:
            for path in deleted:
                folder, _slash, name = path.decode(FILE_NAMES, NAME_ERRORS).rpartition(os.sep)
                if (folder or os.sep) in deleted_names:
                    deleted_names[folder or os.sep].add(name)
        for folder, folder_names in names.items():
            try:
                descriptor = os.open(folder, FOLDER_FLAGS)
            except OSError as error:
                self.leave_alone(folder, "cannot read the folder: %s" % (error.strerror or error))
                continue
            try:
                sink.folder(os.path.join(folder, ""), descriptor)
                sink.deleted_here = deleted_names[folder]
                with os.scandir(descriptor) as entries:
                    entries = [entry for entry in entries if entry.name in folder_names and not (
                        only_of_deleted and os.path.splitext(entry.name)[0] not in sink.deleted_here)]
                self.settle_companions(os.path.join(folder, ""), descriptor, entries, sink)
            finally:
                os.close(descriptor)

    def outcome(self, matched, chosen, pruned_count, pruned, freed):
        """The module's result from the counts and the (mtime, path, size, result) of the files pruned, of which only
        the oldest max_listed are needed."""
        listed = [dict(path=path, size=size, modified=utc_stamp(mtime), result=result)
                  for mtime, path, size, result in heapq.nsmallest(self.params["max_listed"], pruned)]
        return dict(files=listed, files_truncated=pruned_count > len(listed), bytes_freed=freed,
                    left_alone=self.left_alone, counts=dict(matched=matched, kept=matched - chosen,
                                                            pruned=pruned_count, left_alone=self.left_alone_count))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            patterns=dict(type="list", elements="str", default=["*"]),
            recurse=dict(type="bool", default=False),
            units=dict(type="str", default="files", choices=["files", "folders"]),
            age=dict(type="str"),
            keep=dict(type="int"),
            min_keep=dict(type="int", default=1),
            action=dict(type="str", default="delete", choices=["delete", "compress", "archive"]),
            compression=dict(type="str", default="gzip", choices=["gzip", "zstd"]),
            archive_dir=dict(type="path"),
            companions=dict(type="list", elements="str", default=[".sha256"]),
            ignore_missing=dict(type="bool", default=False),
            max_listed=dict(type="int", default=100),
        ),
        required_one_of=[("age", "keep")],
        supports_check_mode=True)
    params = module.params
    try:
        age_seconds = parse_duration(params["age"]) if params["age"] else None
    except ValueError as error:
        module.fail_json(msg=str(error))
    if params["units"] == "folders" and (params["recurse"] or params["action"] == "compress"):
        module.fail_json(msg="units folders prunes whole folders directly under path: recurse and action compress "
                             "do not apply to them")
    if (params["keep"] is not None and params["keep"] < 0) or params["min_keep"] < 0:
        module.fail_json(msg="keep and min_keep are counts of files: 0 or more")
    if not os.path.isdir(params["path"]):
        if params["ignore_missing"] and not os.path.lexists(params["path"]):
            module.exit_json(changed=False, msg="%s does not exist: nothing to prune" % params["path"], files=[],
                             files_truncated=False, bytes_freed=0, left_alone=[], upkeep_results=[],
                             counts=dict(matched=0, kept=0, pruned=0, left_alone=0))
        module.fail_json(msg="%s is not a folder" % params["path"])

    try:
        result = Retention(module, age_seconds).run()
    except (IOError, OSError) as error:
        module.fail_json(msg="cannot prune %s: %s" % (params["path"], error))
    counts = result["counts"]
    verb = dict(delete="deleted", compress="compressed", archive="archived")[params["action"]]
    rule = " and ".join(part for part in (
        "older than %s" % human_duration(age_seconds) if age_seconds is not None else "",
        "beyond the newest %d" % params["keep"] if params["keep"] is not None else "") if part)
    summary = "%s%s %d of %s %s (kept %d%s), %s freed%s" % (
        "would have " if module.check_mode else "", verb, counts["pruned"], plural(counts["matched"], "file"), rule,
        counts["kept"], ", the newest %d always" % params["min_keep"] if params["min_keep"] else "",
        human_bytes(result["bytes_freed"]), ", %d left alone" % counts["left_alone"] if counts["left_alone"] else "")
    result["upkeep_results"] = [result_entry(
        "prune", os.path.join(params["path"], "|".join(params["patterns"])), "changed" if counts["pruned"] else "ok",
        summary, metrics=dict(bytes_reclaimed=0 if module.check_mode else result["bytes_freed"],
                              files_pruned=counts["pruned"], files_kept=counts["kept"]),
        details=dict(action=params["action"], check_mode=module.check_mode))]
    module.exit_json(changed=counts["pruned"] > 0, msg=summary, **result)


if __name__ == "__main__":
    main()
