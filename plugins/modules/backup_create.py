#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: backup_create
short_description: Take a PostgreSQL dump or a folder archive, atomically, with its checksum
version_added: 0.1.0
description:
  - V(postgresql) runs C(pg_dump) in its custom format (compressed, restorable table by table with C(pg_restore)),
    on the host or, with O(container), inside the database's container (C(docker exec)), for a server in Docker
    Compose on a host without PostgreSQL's client. V(folder) writes a tar archive of O(src) compressed with zstd or
    gzip, members in a stable order, so that an unchanged folder gives an identical archive. V(volume) archives the
    files of the Docker volume O(src) the same way (stop its application first, as the maintenance window does).
  - The backup is written under a hidden temporary name in O(dest), synced, renamed to
    C(PREFIX-YYYYmmddTHHMMSSZ.dump) (or C(.tar.zst), C(.tar.gz)) with mode O(mode), and its SHA-256 is written to a
    C(.sha256) sidecar that C(sha256sum -c) reads. A failed dump leaves nothing behind.
  - A folder archive identical to the newest one in O(dest) is not kept, and with O(reuse_within) a backup younger
    than that is used instead of taking a new one, so that repeated runs do not pile up copies.
  - For SQLite databases use M(upkeep.maintenance.sqlite_backup), which copies a live database consistently.
author:
  - upkeep.maintenance contributors (@upkeep)
extends_documentation_fragment:
  - upkeep.maintenance.postgresql
  - upkeep.maintenance.attributes
  - upkeep.maintenance.attributes.PLATFORM
attributes:
  check_mode:
    support: full
    details:
      - Check mode reports the backup it would take, or the one it would reuse.
  diff_mode:
    support: none
options:
  kind:
    description:
      - V(postgresql) dumps the database O(db); V(folder) archives the folder O(src); V(volume) the Docker volume O(src).
    type: str
    choices: [postgresql, folder, volume]
    required: true
  src:
    description:
      - The folder to archive, for O(kind=folder); the volume's name, for O(kind=volume).
    type: path
  container:
    description:
      - For O(kind=postgresql), the container whose C(pg_dump) dumps the database (C(docker exec)); the connection
        options then apply inside the container (its socket by default).
    type: str
  dest:
    description:
      - The folder the backups go to; created with mode 0700 when missing.
    type: path
    required: true
  prefix:
    description:
      - Start of the backup's file name; the database name, or the folder's path with C(/) as C(_), by default.
    type: str
  compression:
    description:
      - Compressor of folder archives. V(zstd) needs the zstd command.
    type: str
    choices: [zstd, gzip]
    default: zstd
  mode:
    description:
      - Permissions of the backup and its sidecar.
    type: raw
    default: '0600'
  reuse_within:
    description:
      - Use the newest backup in O(dest) with this prefix when it is younger than this (V(90m), V(1h), V(1d) or
        seconds) and its checksum matches its sidecar, instead of taking a new one. V(0) always takes a new one.
    type: str
    default: '0'
notes:
  - C(pg_dump) from the newest PostgreSQL installed on the host is used when none is on the PATH; it must not be older
    than the server.
seealso:
  - module: upkeep.maintenance.backup_verify
  - module: upkeep.maintenance.prune
  - module: upkeep.maintenance.sqlite_backup
"""

EXAMPLES = r"""
- name: Dump the application database before maintenance, unless a dump of the last hour exists
  upkeep.maintenance.backup_create:
    kind: postgresql
    db: app
    dest: /var/backups/postgresql
    reuse_within: 1h
    login_unix_socket: /var/run/postgresql
  become: true
  become_user: postgres

- name: Archive the nginx configuration and certificates
  upkeep.maintenance.backup_create:
    kind: folder
    src: /etc/nginx
    dest: /var/backups/config
"""

RETURN = r"""
path:
  description: The backup (the one reused, when one was).
  returned: always
  type: str
  sample: /var/backups/postgresql/app-20261123T020000Z.dump
size:
  description: Its size in bytes.
  returned: always
  type: int
  sample: 10485760
sha256:
  description: Its SHA-256, also in its C(.sha256) sidecar.
  returned: always
  type: str
outcome:
  description: V(created), V(reused) (a recent backup was used), V(identical) (the new archive equalled the newest, so it
    was not kept) or V(planned) in check mode.
  returned: always
  type: str
  sample: created
duration:
  description: Seconds spent.
  returned: always
  type: float
command:
  description: The dump command that ran, without any password.
  returned: when a PostgreSQL dump was taken
  type: list
  elements: str
upkeep_results:
  description: One V(backup_create) entry, V(changed) when a backup was written.
  returned: always
  type: list
  elements: dict
"""

import datetime
import os
import re
import tarfile
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.upkeep.maintenance.plugins.module_utils._archives import volume_folder
from ansible_collections.upkeep.maintenance.plugins.module_utils._backups import FormatError, write_tar
from ansible_collections.upkeep.maintenance.plugins.module_utils._files import (
    fsync_path,
    parse_mode,
    read_checksum,
    remove_if_present,
    rename_unused,
    sha256_file,
    unused_name,
    write_checksum,
)
from ansible_collections.upkeep.maintenance.plugins.module_utils._pgclient import last_line_of
from ansible_collections.upkeep.maintenance.plugins.module_utils._postgresql import (
    pg_client,
    postgresql_common_argument_spec,
)
from ansible_collections.upkeep.maintenance.plugins.module_utils._results import result_entry
from ansible_collections.upkeep.maintenance.plugins.module_utils._units import FILE_STAMP, human_bytes, parse_duration


def suffix(params):
    if params["kind"] == "postgresql":
        return ".dump"
    return ".tar.zst" if params["compression"] == "zstd" else ".tar.gz"


def prefix(params):
    if params["prefix"]:
        return params["prefix"]
    if params["kind"] == "postgresql":
        return params["db"]
    return params["src"].strip("/").replace("/", "_") or "root"


def existing(dest, name_prefix, name_suffix):
    """Backups of this prefix in dest, newest first (by the time in their names, then their sequence number)."""
    pattern = re.compile(r"^%s-(\d{8}T\d{6}Z)(?:\.(\d+))?%s$" % (re.escape(name_prefix), re.escape(name_suffix)))
    found = sorted((match.group(1), int(match.group(2) or 0), name)
                   for name in os.listdir(dest) for match in [pattern.match(name)] if match)
    return [os.path.join(dest, name) for _stamp, _sequence, name in reversed(found)]


def backup_stem(name_prefix):
    """PREFIX-STAMP: a backup is named STEM.SUFFIX, or STEM.N.SUFFIX when one of the same second exists."""
    return "%s-%s" % (name_prefix, datetime.datetime.now(datetime.timezone.utc).strftime(FILE_STAMP))


def dump_postgresql(module, params, temporary):
    """pg_dump of the host, or with a container, the pg_dump inside the database's container (docker exec), its
    output streamed to the temporary file; the connection's settings travel as environment variables, the password
    never on a command line."""
    client = pg_client(module, params)
    arguments = ["--format=custom", "--dbname", params["db"]]
    with open(temporary, "wb") as output:
        rc, _out, err = client.run("pg_dump", arguments, output=output)
    if rc != 0:
        raise FormatError("pg_dump failed: %s" % last_line_of(err))
    return client.command("pg_dump", *arguments)


def archive_folder(folder, params, temporary, name=None):
    """The archive of the folder written to temporary; its SHA-256."""
    if not os.path.isdir(folder):
        raise FormatError("%s is not a folder" % folder)
    with open(temporary, "w+b") as output:
        digest = write_tar(folder, output, params["compression"], name)
        output.flush()
        os.fsync(output.fileno())
    return digest


def take(module, dest, final):
    params = module.params
    fd, temporary = tempfile.mkstemp(prefix="." + os.path.basename(final) + ".", suffix=".tmp", dir=dest)
    os.close(fd)
    try:
        if params["kind"] == "postgresql":
            command = dump_postgresql(module, params, temporary)
            digest = sha256_file(temporary)
        elif params["kind"] == "volume":
            command, digest = None, archive_folder(volume_folder(module, params["src"]), params, temporary, params["src"])
        else:
            command, digest = None, archive_folder(params["src"], params, temporary)
        os.chmod(temporary, module.params["mode"])
        fsync_path(temporary)
    except (FormatError, OSError, tarfile.TarError) as error:
        remove_if_present(temporary)
        module.fail_json(msg="backup of %s failed: %s" % (params["db"] if params["kind"] == "postgresql" else params["src"],
                                                          error))
    return temporary, digest, command


def main():
    argument_spec = postgresql_common_argument_spec()
    argument_spec.update(
        kind=dict(type="str", required=True, choices=["postgresql", "folder", "volume"]),
        src=dict(type="path"),
        container=dict(type="str"),
        dest=dict(type="path", required=True),
        prefix=dict(type="str"),
        compression=dict(type="str", default="zstd", choices=["zstd", "gzip"]),
        mode=dict(type="raw", default="0600"),
        reuse_within=dict(type="str", default="0"),
    )
    module = AnsibleModule(argument_spec=argument_spec, required_if=[("kind", "folder", ("src",)), ("kind", "volume", ("src",))],
                           supports_check_mode=True)
    if module.params["container"] and module.params["kind"] != "postgresql":
        module.fail_json(msg="container is where pg_dump runs: it applies to kind postgresql only")
    params = module.params
    try:
        params["mode"] = parse_mode(params["mode"])
        reuse_within = parse_duration(params["reuse_within"])
    except ValueError as error:
        module.fail_json(msg=str(error))
    started = time.monotonic()
    dest = params["dest"]
    name_prefix, name_suffix = prefix(params), suffix(params)
    target = params["db"] if params["kind"] == "postgresql" else params["src"]

    try:
        if not module.check_mode:
            # Hosts backing up into one shared folder at once may make it together.
            os.makedirs(dest, 0o700, exist_ok=True)
        backups = existing(dest, name_prefix, name_suffix) if os.path.isdir(dest) else []
    except OSError as error:
        module.fail_json(msg="cannot use %s as the backup folder: %s" % (dest, error.strerror or error))
    newest = backups[0] if backups else None
    result = dict(changed=False, command=None)
    if newest and reuse_within > 0 and time.time() - os.stat(newest).st_mtime < reuse_within \
            and read_checksum(newest) == sha256_file(newest):
        result.update(path=newest, size=os.path.getsize(newest), sha256=read_checksum(newest), outcome="reused")
    else:
        stem = backup_stem(name_prefix)
        final = unused_name(dest, stem, name_suffix)
        if module.check_mode:
            result.update(changed=True, path=final, size=0, sha256=None, outcome="planned")
        else:
            temporary, digest, command = take(module, dest, final)
            if params["kind"] in ("folder", "volume") and newest and read_checksum(newest) == digest:
                remove_if_present(temporary)
                result.update(path=newest, size=os.path.getsize(newest), sha256=digest, outcome="identical")
            else:
                final = rename_unused(temporary, dest, stem, name_suffix)
                write_checksum(final, digest, params["mode"])
                fsync_path(dest)
                result.update(changed=True, path=final, size=os.path.getsize(final), sha256=digest, outcome="created",
                              command=command)
    result["duration"] = round(time.monotonic() - started, 3)
    summary = dict(
        created="backup written: %s (%s)" % (result["path"], human_bytes(result["size"])),
        reused="recent backup reused: %s" % result["path"],
        identical="unchanged since %s: no new archive kept" % result["path"],
        planned="would write %s" % result["path"])[result["outcome"]]
    result["upkeep_results"] = [result_entry(
        "backup_create", target, "changed" if result["changed"] else "ok", summary,
        metrics=dict(size_bytes=result["size"], duration_seconds=result["duration"]),
        details=dict(path=result["path"], outcome=result["outcome"]))]
    module.exit_json(msg=summary, **result)


if __name__ == "__main__":
    main()
