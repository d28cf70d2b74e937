#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: sqlite_backup
short_description: Take a consistent online backup of an SQLite database, or restore a verified one
version_added: 0.1.0
description:
  - With O(state=present), copies the database through SQLite's backup API, which gives one consistent snapshot
    even while the application writes (WAL mode included), unlike C(cp) of a live file.
  - The copy is written under a hidden temporary name next to its destination, integrity-checked, synced to disk and
    only then renamed, so a partial or corrupt file never carries the final name. A C(.sha256) sidecar in
    C(sha256sum) format is written beside it.
  - When O(dest) is a folder, the backup is named after the database with a UTC timestamp
    (C(app.db) becomes C(app-20261123T020000Z.db)); when the newest backup there has the same checksum,
    no new file is written and the task reports no change.
  - With O(state=restored), puts the newest backup that passes its checksum and integrity check back in place of
    O(path). The replaced file is kept beside it as C(PATH.replaced-TIMESTAMP), together with its C(-wal) and
    C(-journal) files, and the stale C(-shm) is removed, so that nothing of the replaced database is replayed
    into the restored one. Stop the applications that use the database first; the module refuses a database another
    connection holds a lock on.
author:
  - upkeep.maintenance contributors (@upkeep)
extends_documentation_fragment:
  - upkeep.maintenance.sqlite
  - upkeep.maintenance.sqlite.INTEGRITY
  - upkeep.maintenance.attributes
  - upkeep.maintenance.attributes.PLATFORM
attributes:
  check_mode:
    support: full
    details:
      - With O(state=present) check mode cannot tell whether the backup would be identical to the newest one,
        and reports a change.
  diff_mode:
    support: none
options:
  path:
    description:
      - The database to back up, or with O(state=restored), to restore.
      - With O(state=restored) the file may be missing or corrupt, which is what restoring is for.
  dest:
    description:
      - With O(state=present), the backup file, or a folder to write a timestamped backup into.
        A path that ends with C(/) or is an existing folder is a folder; a missing folder is created with mode C(0700).
      - With O(state=restored), the backup file to restore, or the folder whose backups of O(path) are tried newest first.
    type: path
    required: true
  state:
    description:
      - V(present) writes a backup; V(restored) puts one back.
    type: str
    choices: [present, restored]
    default: present
  recover:
    description:
      - With O(state=restored), when no backup passes its checks (or there is none), salvage what SQLite's C(.recover)
        can read of the corrupt database into a new database beside it, C(PATH.recovered-TIMESTAMP), and report it
        V(critical) with the rows salvaged per table. The corrupt database stays in place, for a person to decide whether the
        salvaged copy replaces it. A later run does not salvage the same corrupt file again.
      - With the C(sqlite3) command's C(.recover) where it works (it also reads freed and orphaned pages, and puts
        rows it cannot place in a C(lost_and_found) table); where the command is missing or built without it (Debian
        12's), by reading what can be read of each table row by row, stepping over unreadable pages.
    type: bool
    default: false
  mode:
    description:
      - Permissions of the backup file and its sidecar, as an octal string such as V('0600') or a number.
      - A restored database takes the mode and owner of the file it replaces.
    type: raw
    default: '0600'
  reuse_within:
    description:
      - With O(state=present) and a backup folder, reuse the newest backup of O(path) there when it is younger than
        this (V(90m), V(1h), seconds) and still matches its checksum, instead of taking a new one. V(0) never reuses.
      - A reused backup holds the database as it was when it was taken; its result says C(reused), and the
        maintenance window never rolls back to it.
    type: str
    default: '0'
seealso:
  - module: upkeep.maintenance.sqlite_check
  - module: upkeep.maintenance.sqlite_vacuum
  - name: SQLite Online Backup API
    description: How the backup API copies a live database.
    link: https://www.sqlite.org/backup.html
"""

EXAMPLES = r"""
- name: Back up before maintenance, into a folder of timestamped backups
  upkeep.maintenance.sqlite_backup:
    path: /srv/app/data/app.db
    dest: /var/backups/app/
  register: backup

- name: Back up to a fixed name, readable by the backup group
  upkeep.maintenance.sqlite_backup:
    path: /srv/app/data/app.db
    dest: /var/backups/app/app-latest.db
    mode: '0640'

- name: Restore the newest good backup over a corrupt database (services stopped)
  upkeep.maintenance.sqlite_backup:
    path: /srv/app/data/app.db
    dest: /var/backups/app/
    state: restored
"""

RETURN = r"""
backup:
  description: The backup written, the identical one already there, or the recent one reused (see O(reuse_within)).
    With O(state=restored), the backup restored.
  returned: success
  type: str
  sample: /var/backups/app/app-20261123T020000Z.db
reused:
  description: Whether a recent backup was reused instead of taking one (O(reuse_within)).
  returned: when a backup was reused
  type: bool
  sample: true
checksum:
  description: SHA-256 of the backup.
  returned: success, except in check mode
  type: str
  sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
size:
  description: Size of the backup in bytes.
  returned: success, except in check mode
  type: int
  sample: 52428800
replaced:
  description: Where the file that was replaced by the restore is kept; null when there was none.
  returned: O(state=restored) and changed
  type: str
  sample: /srv/app/data/app.db.replaced-20261123T020000Z
moved:
  description: Journal and WAL files moved aside with the replaced database, and the C(-shm) file removed.
  returned: O(state=restored) and changed
  type: list
  elements: str
  sample: [/srv/app/data/app.db-wal, /srv/app/data/app.db-shm]
rejected:
  description: Backups that were not restored because they failed their checksum or integrity check, with the reason.
  returned: O(state=restored)
  type: list
  elements: dict
  sample: [{"path": "/var/backups/app/app-20261123T020000Z.db", "reason": "checksum mismatch"}]
recovered:
  description: The database O(recover) salvaged the corrupt one into (or salvaged it into before).
  returned: O(state=restored) with O(recover) when no backup could be restored, except in check mode
  type: str
  sample: /srv/app/data/app.db.recovered-20261123T020000Z
recovered_rows:
  description: Rows salvaged per table; C(lost_and_found) holds the rows C(.recover) could not place in a table.
  returned: when a database was salvaged in this run
  type: dict
  sample: {"orders": 1841, "lost_and_found": 3}
upkeep_results:
  description: The outcome as one entry of the collection's results contract (C(docs/results.md)),
    check V(sqlite_backup) or V(sqlite_restore) (V(critical) when the database was salvaged instead of restored).
  returned: always
  type: list
  elements: dict
  sample:
    - check: sqlite_backup
      target: /srv/app/data/app.db
      status: changed
      summary: "backup written: /var/backups/app/app-20261123T020000Z.db (50.0 MiB)"
      metrics: {"size_bytes": 52428800, "duration_seconds": 0.8}
      details: {"backup": "/var/backups/app/app-20261123T020000Z.db", "checksum": "9f86d0..."}
      timestamp: "2026-11-23T02:00:00Z"
"""

import glob
import os
import sqlite3
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.upkeep.maintenance.plugins.module_utils._files import (
    fsync_path,
    parse_mode,
    read_checksum,
    remove_if_present,
    rename_unused,
    sha256_file,
    write_checksum,
)
from ansible_collections.upkeep.maintenance.plugins.module_utils._results import result_entry
from ansible_collections.upkeep.maintenance.plugins.module_utils._units import FILE_STAMP, human_bytes, human_duration, parse_duration
from ansible_collections.upkeep.maintenance.plugins.module_utils._sqlite import (
    INTEGRITY_ARGUMENT_SPEC,
    SQLiteMaintenanceError,
    connect,
    copy_with_digest,
    database_in_use,
    explain,
    list_backups,
    online_backup,
    row_counts,
    salvage_rows,
    sqlite_common_argument_spec,
    unused_backup_path,
    utc_now,
    verify_database_file,
)


def is_folder(dest):
    return os.path.isdir(dest) or dest.endswith(os.sep)


def writable_folder(module, folder):
    if not os.path.isdir(folder):
        module.fail_json(msg="%s: the destination folder does not exist" % folder)
    if not os.access(folder, os.W_OK | os.X_OK):
        module.fail_json(msg="%s: cannot write into the destination folder (permission denied)" % folder)


def back_up(module, mode):
    path, dest = module.params["path"], module.params["dest"]
    folder_mode = is_folder(dest)
    folder = dest.rstrip(os.sep) if folder_mode else os.path.dirname(os.path.abspath(dest))
    if folder_mode and not module.check_mode:
        try:
            # Hosts backing up into one shared folder at once may make it together.
            os.makedirs(folder, 0o700, exist_ok=True)
        except OSError as error:
            module.fail_json(msg="%s: cannot create the backup folder: %s" % (folder, error.strerror))
    if os.path.exists(folder) or not module.check_mode:
        writable_folder(module, folder)

    recent = recent_backup(folder, path, module.params["reuse_within"]) if folder_mode else None
    if recent:
        return (dict(changed=False, backup=recent["path"], checksum=recent["checksum"], size=recent["size"], reused=True),
                "recent backup reused: %s (%s old)" % (recent["path"], human_duration(recent["age"])))

    source = connect(path, module.params["busy_timeout"])
    try:
        final = unused_backup_path(folder, path, utc_now()) if folder_mode else os.path.abspath(dest)
        if module.check_mode:
            return dict(changed=True, backup=final), "would write a backup to %s" % final
        temporary = online_backup_or_fail(module, source, folder, os.path.basename(final), mode)
    finally:
        source.close()

    errors = verify_database_file(temporary, module.params["integrity"], module.params["busy_timeout"])
    if errors:
        remove_if_present(temporary)
        module.fail_json(msg="%s: the copy fails its integrity check, so the database is corrupt; no backup was written: %s"
                             % (path, errors[0].splitlines()[-1]), integrity_errors=errors)
    digest = sha256_file(temporary)
    size = os.path.getsize(temporary)
    previous = (list_backups(folder, path) or [None])[0] if folder_mode else (final if os.path.isfile(final) else None)
    if previous and (read_checksum(previous) or sha256_file(previous)) == digest:
        remove_if_present(temporary)
        return (dict(changed=False, backup=previous, checksum=digest, size=size),
                "an identical backup exists: %s" % previous)
    if folder_mode:
        final = rename_unused(temporary, folder, *os.path.splitext(os.path.basename(final)))
    else:
        os.rename(temporary, final)
    write_checksum(final, digest, mode)
    return (dict(changed=True, backup=final, checksum=digest, size=size),
            "backup written: %s (%s)" % (final, human_bytes(size)))


def recent_backup(folder, path, within):
    """The newest backup of path in folder when it is younger than within seconds and still matches its checksum,
    else None. It holds the database as it was then, not as it is: it is never a point to roll back to."""
    if not within or not os.path.isdir(folder):
        return None
    newest = (list_backups(folder, path) or [None])[0]
    if newest is None:
        return None
    age = time.time() - os.stat(newest).st_mtime
    recorded = read_checksum(newest)
    if not 0 <= age < within or not recorded or sha256_file(newest) != recorded:
        return None
    return dict(path=newest, age=age, checksum=recorded, size=os.path.getsize(newest))


def online_backup_or_fail(module, source, folder, name, mode):
    try:
        return online_backup(source, folder, name, mode)
    except OSError as error:
        module.fail_json(msg="%s: cannot write the backup: %s" % (folder, error.strerror))


def restore_candidates(module):
    path, dest = module.params["path"], module.params["dest"]
    if os.path.isfile(dest):
        return [dest]
    if not os.path.isdir(dest):
        # A database never backed up has no folder of backups yet: salvage is what is left.
        if module.params["recover"] and not os.path.lexists(dest):
            return []
        module.fail_json(msg="%s: no such backup file or folder" % dest)
    return list_backups(dest, path)


def verify_backup(candidate, integrity, busy_timeout):
    """The backup's SHA-256 and why it must not be restored (None when its checksum and integrity check pass)."""
    expected = read_checksum(candidate)
    if expected == "":
        return None, "unreadable checksum sidecar"
    digest = sha256_file(candidate)
    if expected and digest != expected:
        return digest, "checksum mismatch"
    errors = verify_database_file(candidate, integrity, busy_timeout)
    return digest, ("fails its integrity check: %s" % errors[0].splitlines()[-1] if errors else None)


def set_aside(path, stamp):
    """Move the replaced database and its journal and WAL out of the way; drop its shared-memory index."""
    aside = path + ".replaced-" + stamp
    serial = 0
    while os.path.lexists(aside):
        serial += 1
        aside = "%s.replaced-%s.%d" % (path, stamp, serial)
    moved = []
    if os.path.lexists(path):
        os.rename(path, aside)
    for suffix in ("-wal", "-journal"):
        if os.path.lexists(path + suffix):
            os.rename(path + suffix, aside + suffix)
            moved.append(path + suffix)
    if os.path.lexists(path + "-shm"):
        os.unlink(path + "-shm")
        moved.append(path + "-shm")
    return (aside if os.path.lexists(aside) else None), moved


def restore(module, mode):
    path = module.params["path"]
    integrity, busy_timeout = module.params["integrity"], module.params["busy_timeout"]
    if os.path.isdir(path):
        module.fail_json(msg="%s: is a folder, not a database file" % path)
    rejected = []
    candidates = restore_candidates(module)
    for candidate in candidates:
        digest, problem = verify_backup(candidate, integrity, busy_timeout)
        if problem is None:
            break
        rejected.append(dict(path=candidate, reason=problem))
    else:
        why = ("no backup passed its checks: %s" % "; ".join("%s: %s" % (entry["path"], entry["reason"]) for entry in rejected)
               if candidates else "no backups of it in %s" % module.params["dest"])
        if module.params["recover"] and os.path.isfile(path):
            return salvage(module, why, rejected)
        module.fail_json(msg="%s: %s; the database was left as it is" % (path, why), rejected=rejected)

    # An empty WAL or journal holds nothing that could be replayed into the database.
    stale = [path + suffix for suffix in ("-wal", "-journal")
             if os.path.lexists(path + suffix) and os.path.getsize(path + suffix) > 0]
    if os.path.isfile(path) and not stale and sha256_file(path) == digest:
        return (dict(changed=False, backup=candidate, checksum=digest, size=os.path.getsize(candidate), rejected=rejected),
                "the database is already identical to %s" % candidate)
    if module.check_mode:
        return dict(changed=True, backup=candidate, rejected=rejected), "would restore %s from %s" % (path, candidate)

    if database_in_use(path):
        module.fail_json(msg="%s: the database is in use by another connection; stop the services that use it "
                             "before restoring" % path)
    folder = os.path.dirname(os.path.abspath(path))
    writable_folder(module, folder)
    original = os.stat(path) if os.path.isfile(path) else None
    temporary, copied = copy_with_digest(candidate, folder, os.path.basename(path),
                                         original.st_mode & 0o7777 if original else mode)
    if copied != digest:
        remove_if_present(temporary)
        module.fail_json(msg="%s: changed while it was being restored; the database was left as it is" % candidate)
    if original and os.geteuid() == 0:
        os.chown(temporary, original.st_uid, original.st_gid)
    replaced, moved = set_aside(path, utc_now().strftime(FILE_STAMP))
    os.rename(temporary, path)
    fsync_path(folder)
    summary = "restored from %s" % candidate
    if replaced:
        summary += "; the replaced file is kept as %s" % replaced
    return (dict(changed=True, backup=candidate, checksum=digest, size=os.path.getsize(path), replaced=replaced,
                 moved=moved, rejected=rejected), summary)


def salvage(module, why, rejected):
    """What can be read of a corrupt database with no good backup, written beside it as a new database; the corrupt
    file stays where it is for a person to decide."""
    path = os.path.abspath(module.params["path"])
    folder, name = os.path.split(path)
    since = os.path.getmtime(path)
    earlier = sorted(candidate for candidate in glob.glob(glob.escape(path) + ".recovered-*Z")
                     if os.path.getmtime(candidate) >= since)
    summary = "corrupt and %s" % why
    if earlier:
        return (dict(changed=False, recovered=earlier[-1], rejected=rejected, status="critical"),
                "%s; salvaged before into %s: check it and swap it in by hand" % (summary, earlier[-1]))
    if module.check_mode:
        return (dict(changed=True, rejected=rejected, status="critical"),
                "%s; would salvage what can be read of it into %s.recovered-TIMESTAMP" % (summary, path))
    recovered = "%s.recovered-%s" % (name, utc_now().strftime(FILE_STAMP))
    target = os.path.join(folder, recovered)
    method, unmade = "sqlite3 .recover", []
    if not recover_with_the_shell(module, folder, name, recovered):
        method, unmade = "a row by row read", salvage_rows(path, target)[1]
    conn = connect(target, module.params["busy_timeout"], readonly=True)
    try:
        tables = row_counts(conn)
    finally:
        conn.close()
    rows = sum(count for table, count in tables.items() if table != "lost_and_found")
    summary += "; salvaged %d rows of %d tables with %s into %s%s%s: check it and swap it in by hand" % (
        rows, len([table for table in tables if table != "lost_and_found"]), method, target,
        " (%d unplaced rows in lost_and_found)" % tables["lost_and_found"] if tables.get("lost_and_found") else "",
        " (not rebuilt: %s)" % ", ".join(unmade) if unmade else "")
    return dict(changed=True, recovered=target, recovered_rows=tables, recovered_with=method, rejected=rejected,
                status="critical", size=os.path.getsize(target)), summary


def recover_with_the_shell(module, folder, name, recovered):
    """Whether the sqlite3 command's .recover, which also reads freed and orphaned pages, salvaged the database; it
    is missing from the sqlite3 builds without SQLITE_ENABLE_DBPAGE_VTAB (Debian 12's among them)."""
    sqlite3_command = module.get_bin_path("sqlite3")
    if not sqlite3_command:
        return False
    script = ".%s.sql" % recovered
    # Relative names inside the folder: the dot-commands of the sqlite3 shell do not take every path unquoted.
    try:
        for command in ([sqlite3_command, "-bail", "-readonly", name, ".output %s" % script, ".recover"],
                        [sqlite3_command, "-bail", recovered, ".read %s" % script]):
            rc, _out, _err = module.run_command(command, cwd=folder)
            if rc != 0:
                remove_if_present(os.path.join(folder, recovered))
                return False
    finally:
        remove_if_present(os.path.join(folder, script))
    return True


def main():
    argument_spec = sqlite_common_argument_spec()
    argument_spec.update(INTEGRITY_ARGUMENT_SPEC)
    argument_spec.update(
        dest=dict(type="path", required=True),
        state=dict(type="str", default="present", choices=["present", "restored"]),
        mode=dict(type="raw", default="0600"),
        reuse_within=dict(type="str", default="0"),
        recover=dict(type="bool", default=False),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    try:
        mode = parse_mode(module.params["mode"])
        module.params["reuse_within"] = parse_duration(module.params["reuse_within"])
    except ValueError as error:
        module.fail_json(msg=str(error))
    if os.path.abspath(module.params["dest"]) == os.path.abspath(module.params["path"]):
        module.fail_json(msg="dest must differ from path: a backup cannot replace the database it copies")

    restoring = module.params["state"] == "restored"
    started = time.monotonic()
    try:
        result, summary = restore(module, mode) if restoring else back_up(module, mode)
    except SQLiteMaintenanceError as error:
        module.fail_json(msg=str(error))
    except sqlite3.Error as error:
        module.fail_json(msg=str(explain(error, module.params["path"], module.params["busy_timeout"])))
    except OSError as error:
        module.fail_json(msg="%s: %s" % (error.filename or module.params["dest"], error.strerror))
    duration = round(time.monotonic() - started, 3)
    metrics = dict(duration_seconds=duration)
    if "size" in result:
        metrics["size_bytes"] = result["size"]
    status = result.pop("status", "changed" if result["changed"] else "ok")
    result["upkeep_results"] = [result_entry(
        "sqlite_restore" if restoring else "sqlite_backup", module.params["path"], status, summary, metrics=metrics,
        details=dict((key, result[key]) for key in ("backup", "checksum", "replaced", "rejected", "reused", "recovered")
                     if key in result))]
    module.exit_json(msg=summary, **result)


if __name__ == "__main__":
    main()
