#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: backup_restore
short_description: Put a folder or a Docker volume back from its archive, keeping what it replaces
version_added: 0.1.0
description:
  - Restores an archive that M(upkeep.maintenance.backup_create) wrote of a folder (O(dest)) or of a Docker volume
    (O(volume)) - tar, tar.gz or tar.zst - with its files, folders, links, modes, owners (when run as root),
    times, extended attributes (C(user.) ones, and C(trusted.) ones as root, where the file system has them) and
    sparse files (runs of zeros come back as holes).
  - The archive must match its C(.sha256) sidecar (unless O(checksum=false)) and be read to its end - every member,
    then tar's two end blocks and nothing after them but zeros - before anything is touched. It is
    extracted into a new folder beside the target, on the same file system, which then takes the target's place in
    one rename; the contents it replaces are kept as C(TARGET.replaced-TIMESTAMP) unless O(keep_replaced) is false.
    A failure at any point leaves the target as it was.
  - A target whose contents already equal the archive (each file's SHA-256, each link, mode and owner) is left
    alone, so a second run changes nothing.
  - Members are data, not instructions - a name that is absolute, climbs out with C(..) or lies under a symbolic link
    of the archive, and a hard link to anything but a file restored before it, stop the restore with the target
    untouched.
  - A volume that a running container uses is refused - stop its application first, as the maintenance window
    does.
author:
  - upkeep.maintenance contributors (@upkeep)
extends_documentation_fragment:
  - upkeep.maintenance.attributes
  - upkeep.maintenance.attributes.PLATFORM
attributes:
  check_mode:
    support: full
    details:
      - Check mode checks the archive and compares it with the target, and reports what would be restored.
  diff_mode:
    support: none
options:
  src:
    description:
      - The archive to restore, or a backup set's folder, whose newest archive matching O(pattern) with a valid
        checksum is restored.
    type: path
    required: true
  pattern:
    description:
      - The archives of the set, when O(src) is a folder.
    type: str
    default: '*.tar*'
  dest:
    description:
      - The folder to put back. Its parent folder must exist.
    type: path
  volume:
    description:
      - The Docker volume to put back, by name; it must exist (C(docker volume create), or its Compose project).
    type: str
  checksum:
    description:
      - Restore only an archive whose C(.sha256) sidecar it matches; an archive without one is refused. V(false)
        restores an archive without a sidecar (one made by hand), still read to its end first.
    type: bool
    default: true
  keep_replaced:
    description:
      - Keep the replaced contents as C(TARGET.replaced-TIMESTAMP). For a volume this folder is in the volume's own
        folder in Docker's data, and goes with the volume when it is removed.
    type: bool
    default: true
seealso:
  - module: upkeep.maintenance.backup_create
  - module: upkeep.maintenance.backup_verify
"""

EXAMPLES = r"""
- name: Put the uploads volume back from its newest archive, its application stopped in the window
  upkeep.maintenance.backup_restore:
    src: /var/backups/upkeep/uploads
    volume: stack_uploads

- name: Put a folder back from a chosen archive
  upkeep.maintenance.backup_restore:
    src: /var/backups/upkeep/app-config/etc_app-20261122T020000Z.tar.zst
    dest: /etc/app
"""

RETURN = r"""
archive:
  description: The archive restored, or compared.
  returned: always
  type: str
dest:
  description: The folder put back (a volume's mount point for O(volume)).
  returned: always
  type: str
replaced:
  description: Where the replaced contents are kept; null when nothing was replaced or O(keep_replaced) is false.
  returned: always
  type: str
files:
  description: The files in the archive.
  returned: always
  type: int
bytes:
  description: The bytes of those files.
  returned: always
  type: int
differences:
  description: The paths (inside the folder) the target was C(missing), had C(added) or had C(changed) against the
    archive, at most 20 of each, before the restore.
  returned: always
  type: dict
upkeep_results:
  description: A V(backup_restore) entry.
  returned: always
  type: list
  elements: dict
"""

import datetime
import os
import shutil
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.upkeep.maintenance.plugins.module_utils._archives import (
    archive_state,
    differences,
    extract,
    folder_state,
    volume_folder,
)
from ansible_collections.upkeep.maintenance.plugins.module_utils._backups import FormatError, backup_set
from ansible_collections.upkeep.maintenance.plugins.module_utils._files import fsync_path, read_checksum, sha256_file
from ansible_collections.upkeep.maintenance.plugins.module_utils._results import result_entry
from ansible_collections.upkeep.maintenance.plugins.module_utils._units import FILE_STAMP, human_bytes


def checked_archive(src, pattern, checksum):
    """The archive to restore: src itself, which must match its sidecar, or the newest archive of the folder src
    whose checksum holds; without checksum, src or the newest archive, sidecar or not. archive_state then reads it to
    its end before anything is touched."""
    if os.path.isdir(src):
        archives = list(reversed(backup_set(src, pattern)))
        # Newest first, each hashed only until one holds.
        archive = next((path for path in archives if not checksum or read_checksum(path) == sha256_file(path)), None)
        if archive is None:
            raise FormatError("no archive in %s matching %s%s" % (src, pattern, " has a checksum that holds" if checksum else ""))
        return archive
    expected = read_checksum(src)
    if checksum and expected is None:
        raise FormatError("%s has no .sha256 sidecar to check it against (checksum=false restores it unchecked)" % src)
    if expected is not None and expected != sha256_file(src):
        raise FormatError("%s does not match its checksum sidecar" % src)
    return src


def printable(path):
    """A path of the archive as text a report can carry: bytes that are not UTF-8 as escapes."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def running_users(module, docker, volume):
    rc, out, err = module.run_command([docker, "ps", "--format", "{{.Names}}", "--filter", "volume=" + volume])
    if rc != 0:
        raise FormatError("docker ps: %s" % (err.strip() or out.strip()))
    return out.split()


def target_folder(module):
    params = module.params
    if params["dest"]:
        target = os.path.normpath(params["dest"])
        if target == "/":
            raise FormatError("the root folder is never replaced: name the folder to put back")
        parent = os.path.dirname(target)
        if not os.path.isdir(parent):
            raise FormatError("%s does not exist: the folder to restore into must have its parent" % parent)
        return target
    docker = module.get_bin_path("docker")
    folder = volume_folder(module, params["volume"], docker)
    users = running_users(module, docker, params["volume"])
    if users:
        raise FormatError("volume %s is in use by the running container(s) %s: stop them first (the maintenance "
                          "window does)" % (params["volume"], ", ".join(users)))
    return folder


def swap_in(new, target, keep_replaced):
    """new takes target's place in one rename; target, when there is one, moves aside first and comes back if the
    second rename fails. Returns where the replaced contents are kept, or None."""
    replaced = None
    if os.path.lexists(target):
        replaced = "%s.replaced-%s" % (target, datetime.datetime.now(datetime.timezone.utc).strftime(FILE_STAMP))
        os.rename(target, replaced)
    try:
        os.rename(new, target)
    except OSError:
        if replaced:
            os.rename(replaced, target)
        raise
    fsync_path(os.path.dirname(target))
    if replaced and not keep_replaced:
        shutil.rmtree(replaced)
        replaced = None
    return replaced


def restore(module, archive, target, expected, allocated):
    """The archive extracted beside the target and swapped in; allocated is what it writes to the disk, the zero
    runs of its files left as holes."""
    owners = os.geteuid() == 0
    space = os.statvfs(os.path.dirname(target))
    free = space.f_bavail * space.f_frsize
    if allocated > free:
        raise FormatError("the archive's %s do not fit in the %s free beside %s" % (
            human_bytes(allocated), human_bytes(free), target))
    new = "%s.restoring-%d" % (target, os.getpid())
    os.mkdir(new, 0o700)
    try:
        files, total = extract(archive, new, owners)
        if folder_state(new, owners) != expected:
            raise FormatError("the restored folder differs from the archive")
        return files, total, swap_in(new, target, module.params["keep_replaced"])
    except BaseException:
        if os.path.lexists(new):
            shutil.rmtree(new)
        raise


def main():
    module = AnsibleModule(
        argument_spec=dict(
            src=dict(type="path", required=True),
            pattern=dict(type="str", default="*.tar*"),
            dest=dict(type="path"),
            volume=dict(type="str"),
            checksum=dict(type="bool", default=True),
            keep_replaced=dict(type="bool", default=True),
        ),
        mutually_exclusive=[("dest", "volume")],
        required_one_of=[("dest", "volume")],
        supports_check_mode=True)
    params = module.params
    started = time.monotonic()
    name = params["volume"] or params["dest"]
    try:
        archive = checked_archive(params["src"], params["pattern"], params["checksum"])
        target = target_folder(module)
        owners = os.geteuid() == 0
        expected, total, allocated = archive_state(archive, owners)
        found = folder_state(target, owners) if os.path.isdir(target) else {}
    except (FormatError, OSError) as error:
        module.fail_json(msg=printable("%s not restored: %s" % (name, error)))
    changes = differences(expected, found)
    files = sum(1 for entry in expected.values() if entry[0] == "file")
    result = dict(changed=expected != found, archive=archive, dest=target, replaced=None, files=files, bytes=total,
                  differences=dict((key, [printable(path) for path in paths[:20]]) for key, paths in changes.items()))
    if not result["changed"]:
        summary = "%s already holds what %s holds" % (name, archive)
    elif module.check_mode:
        summary = "would restore %s from %s: %d files, %s (%d missing, %d added, %d changed)" % (
            name, archive, files, human_bytes(total), len(changes["missing"]), len(changes["added"]), len(changes["changed"]))
    else:
        try:
            files, total, result["replaced"] = restore(module, archive, target, expected, allocated)
        except (FormatError, OSError) as error:
            module.fail_json(msg=printable("%s not restored, left as it was: %s" % (name, error)), **result)
        summary = "restored %s from %s: %d files, %s%s" % (
            name, archive, files, human_bytes(total),
            "; the replaced contents are in %s" % result["replaced"] if result["replaced"] else "")
    result["upkeep_results"] = [result_entry(
        "backup_restore", name, "changed" if result["changed"] else "ok", summary,
        metrics=dict(files=files, size_bytes=total, duration_seconds=round(time.monotonic() - started, 3)),
        details=dict(archive=archive, replaced=result["replaced"]))]
    module.exit_json(msg=summary, **result)


if __name__ == "__main__":
    main()
