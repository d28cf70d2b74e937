#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: backup_verify
short_description: Verify a backup set - freshness, size, checksum, format by content, and a test restore
version_added: 0.1.0
description:
  - A backup set is the files (and C(pg_dump) directory dumps) in the folder O(path) whose names match O(pattern),
    checksum sidecars, manifests and hidden temporary files excepted; or the one file O(path) names.
  - Checks, each reported on its own in RV(checks), on the newest backup of the set
    (count) at least O(min_count) backups;
    (freshness) younger than O(max_age);
    (size) at least O(min_size), and (shrink) not smaller than the previous backup by more than O(max_shrink);
    (checksum) the SHA-256 recorded in its C(.sha256) sidecar or in a C(SHA256SUMS) manifest;
    (format) read by its content to the last byte - SQLite (integrity check on a temporary copy), C(pg_dump) custom
    and directory archives (C(pg_restore) lists the whole table of contents, then reads every data block), SQL
    scripts (a C(pg_dump) script must end with its closing line), tar, gzip and zstd, alone or combined;
    (restore_test) a SQLite backup restored to a temporary file, a PostgreSQL dump restored into a scratch database
    that is dropped afterwards, each followed by the O(smoke_queries); a tar archive extracted into a temporary folder.
  - Never writes into the backup folder; temporary copies go to O(temp_dir).
author:
  - upkeep.maintenance contributors (@upkeep)
extends_documentation_fragment:
  - upkeep.maintenance.postgresql
  - upkeep.maintenance.attributes
  - upkeep.maintenance.attributes.INFO_MODULE
  - upkeep.maintenance.attributes.PLATFORM
options:
  path:
    description:
      - The folder of the backup set, or one backup file or C(pg_dump) directory dump.
    type: path
    required: true
  pattern:
    description:
      - Shell pattern of the backups' file names in O(path), for example V(app-*.db) or V(*.dump); with
        O(units=folders), of the backup folders' names, for example V(backup-*).
    type: str
    default: '*'
  units:
    description:
      - V(files) - each backup is one file (or a C(pg_dump) directory dump). V(folders) - each backup is a folder
        (C(backup-20261101/) with the night's dumps and archives), as backup scripts often write them; its age is that
        of its newest file, its size the sum of its files, its checksum its own manifest (every file C(SHA256SUMS)
        lists must match), and its format check reads each file in it by its content.
    type: str
    choices: [files, folders]
    default: files
  container:
    description:
      - A container whose PostgreSQL client programs read and restore C(pg_dump) backups (C(docker exec)), for a
        server in Docker on a host without PostgreSQL's client; the connection options then apply inside it. The
        restore test's scratch database is made and dropped by its C(psql).
    type: str
  min_count:
    description:
      - Fewer backups in the set than this is a V(warning); none at all is V(critical).
    type: int
    default: 1
  max_age:
    description:
      - The newest backup must be younger than this (V(90m), V(26h), V(7d), V(2w) or seconds), else V(critical).
      - Empty to skip the check.
    type: str
    default: 26h
  min_size:
    description:
      - The newest backup must be at least this large (V(512k), V(10M), V(1G) or bytes), else V(critical).
    type: str
    default: '1'
  max_shrink:
    description:
      - The newest backup may be smaller than the previous one by at most this share (0.5 is half), else V(warning).
      - V(1) disables the check.
    type: float
    default: 0.5
  checksum:
    description:
      - V(auto) verifies the SHA-256 of the newest backup against its C(.sha256) sidecar or a manifest when one
        exists, and reports a V(warning) when none does. V(required) makes a missing checksum V(critical).
        V(none) skips the check.
    type: str
    choices: [auto, required, none]
    default: auto
  manifest:
    description:
      - A sha256sum-style file listing the backups' digests. By default C(SHA256SUMS), C(sha256sums.txt) or
        C(MANIFEST.sha256) in the folder, when present.
    type: path
  check_format:
    description:
      - Read the newest backup by its content to the last byte (see the description).
    type: bool
    default: true
  restore_test:
    description:
      - Restore the newest backup to a temporary place and run O(smoke_queries) on it. SQLite backups are restored to a
        temporary file; C(pg_dump) archives and scripts into a scratch database on the server the connection options
        reach, dropped afterwards; tar archives of folders and volumes are extracted into a temporary folder, as
        M(upkeep.maintenance.backup_restore) puts them back, and removed.
    type: bool
    default: false
  smoke_queries:
    description:
      - Queries run on the restored backup. The first column of the first row must be at least C(min).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: A name for the report; the SQL when unset.
        type: str
      sql:
        description: The query.
        type: str
        required: true
      min:
        description: The least value the query may return.
        type: int
        default: 1
  temp_dir:
    description:
      - Where temporary copies and restores go; the system's temporary folder when unset.
    type: path
  fail_on:
    description:
      - Fail the task when a check is V(warning) or worse, V(critical) or worse, only when a check could not run
        (V(error)), or V(never).
    type: str
    choices: [critical, warning, error, never]
    default: critical
notes:
  - The connection options matter only for restore tests of PostgreSQL dumps; O(db) is the database to connect to
    for creating and dropping the scratch database. Format checks and restores of PostgreSQL dumps need
    C(pg_restore) and C(psql) on the host, zstd files the C(zstd) command.
seealso:
  - module: upkeep.maintenance.prune
  - module: upkeep.maintenance.sqlite_backup
"""

EXAMPLES = r"""
- name: Daily - fresh, large enough, checksum intact
  upkeep.maintenance.backup_verify:
    path: /var/backups/app
    pattern: "app-*.db"
    max_age: 26h
    min_size: 1M
    check_format: false

- name: Monthly - read the newest PostgreSQL dump to the end and restore it into a scratch database
  upkeep.maintenance.backup_verify:
    path: /var/backups/postgresql
    pattern: "app-*.dump"
    max_age: 7d
    restore_test: true
    smoke_queries:
      - sql: SELECT count(*) FROM orders
        min: 1000
    login_unix_socket: /var/run/postgresql
  become: true
  become_user: postgres
"""

RETURN = r"""
latest:
  description: The newest backup of the set; empty when there is none.
  returned: always
  type: dict
  contains:
    path:
      description: Its path.
      type: str
    age_seconds:
      description: Seconds since it was last modified.
      type: float
    size:
      description: Bytes (all files, for a directory dump).
      type: int
    sha256:
      description: Its SHA-256, when the checksum check computed it.
      type: str
    format:
      description: Its format by content, such as V(sqlite), V(pg_custom), V(pg_directory), V(sql.gz), V(tar.zst).
      type: str
count:
  description: Backups in the set.
  returned: always
  type: int
  sample: 14
checks:
  description: One entry per check, in order, with C(name), C(status) (V(ok), V(warning), V(critical), V(failed) or
    V(skipped)), C(message) and C(metrics).
  returned: always
  type: list
  elements: dict
  sample:
    - {"name": "freshness", "status": "ok", "message": "newest backup is 3.2h old (limit 26h)", "metrics": {"age_seconds": 11520}}
findings:
  description: The checks that are not V(ok) or V(skipped), as entries of the results contract (check C(backup_<name>)).
  returned: always
  type: list
  elements: dict
upkeep_results:
  description: One V(backup_verify) entry for the set with its count, age and size as metrics, then the RV(findings).
  returned: always
  type: list
  elements: dict
"""

import os
import shutil
import subprocess
import tempfile
import time
import uuid

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.upkeep.maintenance.plugins.module_utils._archives import extract
from ansible_collections.upkeep.maintenance.plugins.module_utils._backups import (
    MANIFEST_NAMES,
    FormatError,
    backup_folders,
    backup_set,
    check_format,
    detect_format,
    feed_command,
    open_stream,
    folder_files,
    read_manifest,
    set_size,
    unit_time,
)
from ansible_collections.upkeep.maintenance.plugins.module_utils._files import CHUNK, read_checksum, sha256_file
from ansible_collections.upkeep.maintenance.plugins.module_utils._pgclient import last_line_of, pg_command
from ansible_collections.upkeep.maintenance.plugins.module_utils._postgresql import (
    PostgreSQLMaintenanceError,
    connect,
    driver,
    libpq_environment,
    one_line,
    pg_client,
    postgresql_common_argument_spec,
    require_driver,
    sql,
)
from ansible_collections.upkeep.maintenance.plugins.module_utils._results import FAIL_ON_STATUSES, failing_entries, result_entry
from ansible_collections.upkeep.maintenance.plugins.module_utils._sqlite import (
    SQLiteMaintenanceError,
    integrity_errors,
)
from ansible_collections.upkeep.maintenance.plugins.module_utils._sqlite import connect as sqlite_connect
from ansible_collections.upkeep.maintenance.plugins.module_utils._units import human_bytes, human_duration, parse_duration, parse_size, plural

POSTGRESQL_FORMATS = ("pg_custom", "pg_directory", "sql", "sql.gz", "sql.zst")
SQLITE_FORMATS = ("sqlite", "sqlite.gz", "sqlite.zst")
TAR_FORMATS = ("tar", "tar.gz", "tar.zst")


class Verification(object):
    def __init__(self, module, max_age, min_size):
        self.module = module
        self.params = module.params
        self.max_age = max_age
        self.min_size = min_size
        self.checks = []
        self.latest = {}
        # Reads pg_dump archives: the host's pg_restore, or with a container, the one inside it.
        self.pg_client = pg_client(module, self.params) if self.params["container"] else None

    def record(self, name, status, message, **metrics):
        self.checks.append(dict(name=name, status=status, message=message, metrics=metrics))

    def run(self):
        path = self.params["path"]
        try:
            folders = self.params["units"] == "folders"
            members = backup_folders(path, self.params["pattern"]) if folders else backup_set(path, self.params["pattern"])
        except FileNotFoundError:
            # The check ran and found nothing: a set whose folder was never made has no backup, which is critical.
            self.record("count", "critical", "no backup: %s does not exist" % path, count=0)
            return
        except (IOError, OSError) as error:
            self.record("count", "failed", "cannot read %s: %s" % (path, error.strerror or error))
            return
        count = len(members)
        if count == 0:
            self.record("count", "critical", "no backup in %s matches %s" % (path, self.params["pattern"]), count=0)
            return
        status = "warning" if count < self.params["min_count"] else "ok"
        self.record("count", status, "%s (at least %d wanted)" % (plural(count, "backup"), self.params["min_count"]), count=count)
        newest = members[-1]
        previous = members[-2] if count > 1 else None
        age = max(0.0, time.time() - unit_time(newest))
        size = set_size(newest)
        self.latest = dict(path=newest, age_seconds=round(age, 1), size=size, sha256=None, format=None)
        self.freshness(age)
        self.sizes(size, previous)
        self.checksum(newest)
        if folders:
            if self.params["check_format"]:
                self.folder_formats(newest)
            if self.params["restore_test"]:
                self.record("restore_test", "skipped", "no restore test for a folder of backups: each file was read to the end")
            return
        fmt = None
        if self.params["check_format"] or self.params["restore_test"]:
            fmt = self.latest["format"] = detect_format(newest)
        if self.params["check_format"]:
            self.format(newest, fmt)
        if self.params["restore_test"]:
            self.restore(newest, fmt)

    def freshness(self, age):
        if self.max_age is None:
            return
        status = "critical" if age > self.max_age else "ok"
        self.record("freshness", status, "newest backup is %s old (limit %s)" % (
            human_duration(age), human_duration(self.max_age)), age_seconds=round(age, 1))

    def sizes(self, size, previous):
        status = "critical" if size < self.min_size else "ok"
        self.record("size", status, "newest backup is %s (at least %s wanted)" % (
            human_bytes(size), human_bytes(self.min_size)), size_bytes=size)
        if previous is None or self.params["max_shrink"] >= 1:
            return
        before = set_size(previous)
        shrink = 1 - float(size) / before if before else 0.0
        status = "warning" if shrink > self.params["max_shrink"] else "ok"
        self.record("shrink", status, "%s against %s for the previous backup (%+.0f %%)" % (
            human_bytes(size), human_bytes(before), -shrink * 100), shrink_ratio=round(shrink, 3))

    def recorded_digest(self, newest):
        """(digest, where) from the sidecar or a manifest; digest None when nothing records it."""
        if os.path.isfile(newest):
            sidecar = read_checksum(newest)
            if sidecar is not None:
                return sidecar, "sidecar %s.sha256" % os.path.basename(newest)
        folder = os.path.dirname(newest)
        candidates = [self.params["manifest"]] if self.params["manifest"] else [
            os.path.join(folder, name) for name in MANIFEST_NAMES]
        for manifest in candidates:
            if os.path.isfile(manifest):
                digests = read_manifest(manifest)
                if os.path.basename(newest) in digests:
                    return digests[os.path.basename(newest)], "manifest %s" % os.path.basename(manifest)
        return None, None

    def checksum(self, newest):
        mode = self.params["checksum"]
        if mode == "none":
            return
        if self.params["units"] == "folders":
            self.folder_checksums(newest, mode)
            return
        if os.path.isdir(newest):
            self.record("checksum", "skipped", "a directory dump has no single checksum")
            return
        recorded, where = self.recorded_digest(newest)
        if recorded is None:
            status = "critical" if mode == "required" else "warning"
            self.record("checksum", status, "no checksum recorded for %s (no sidecar, no manifest entry)" % os.path.basename(newest))
            return
        actual = self.latest["sha256"] = sha256_file(newest)
        if recorded == actual:
            self.record("checksum", "ok", "SHA-256 matches the %s" % where)
        else:
            self.record("checksum", "critical", "SHA-256 %s... does not match the %s (%s...): the file changed after it was written"
                        % (actual[:12], where, (recorded or "unreadable")[:12]))

    def folder_checksums(self, newest, mode):
        """Every file a folder backup's own manifest lists must be there and match its digest."""
        manifest = next((os.path.join(newest, name) for name in MANIFEST_NAMES if os.path.isfile(os.path.join(newest, name))), None)
        if manifest is None:
            self.record("checksum", "critical" if mode == "required" else "warning",
                        "no manifest in %s (%s)" % (os.path.basename(newest), ", ".join(MANIFEST_NAMES)))
            return
        digests = read_manifest(manifest)
        problems = []
        for name, recorded in sorted(digests.items()):
            path = os.path.join(newest, name)
            if not os.path.isfile(path):
                problems.append("%s is missing" % name)
            elif sha256_file(path) != recorded:
                problems.append("%s changed after it was written" % name)
        if problems:
            self.record("checksum", "critical", "%s: %s" % (os.path.basename(manifest), "; ".join(problems[:5])),
                        files=len(digests), mismatches=len(problems))
        else:
            self.record("checksum", "ok", "all %s of %s match their SHA-256" % (
                plural(len(digests), "file"), os.path.basename(manifest)), files=len(digests))

    def folder_formats(self, newest):
        """Each file of a folder backup read by its content, as a single backup is."""
        broken, checked, unknown = [], 0, []
        for path in folder_files(newest):
            fmt = detect_format(path)
            if fmt == "unknown":
                unknown.append(os.path.relpath(path, newest))
                continue
            try:
                check_format(path, fmt, self.sqlite_integrity, self.pg_client)
                checked += 1
            except FormatError as error:
                broken.append("%s (%s): %s" % (os.path.relpath(path, newest), fmt, error))
        if broken:
            self.record("format", "critical", "%s of %s do not read to the end: %s" % (
                len(broken), plural(checked + len(broken), "file"), "; ".join(broken[:3])), broken=len(broken))
        else:
            self.record("format", "ok", "%s read to the end%s" % (plural(checked, "file"), (
                "; not recognised, so not checked: %s" % ", ".join(unknown[:5])) if unknown else ""), files=checked)

    def format(self, newest, fmt):
        try:
            details = check_format(newest, fmt, self.sqlite_integrity, self.pg_client)
        except FormatError as error:
            self.record("format", "critical", "%s: %s" % (fmt, error))
            return
        self.record("format", "ok", "%s read to the end%s" % (fmt, "".join(
            ", %s %s" % (key.replace("_", " "), value) for key, value in sorted(details.items()))), **dict(
                (key, value) for key, value in details.items() if isinstance(value, int) and not isinstance(value, bool)))

    def temporary_copy(self, path, fmt):
        """A copy of a (possibly compressed) file in temp_dir, decompressed."""
        fd, copy = tempfile.mkstemp(prefix="upkeep-verify-", dir=self.params["temp_dir"])
        compression = fmt.partition(".")[2]
        with os.fdopen(fd, "wb") as target:
            source = open_stream(path, compression)
            try:
                shutil.copyfileobj(source, target, CHUNK)
            finally:
                source.close()
        return copy

    def sqlite_integrity(self, path, fmt="sqlite"):
        copy = self.temporary_copy(path, fmt)
        try:
            conn = sqlite_connect(copy, 30, readonly=True)
            try:
                errors = integrity_errors(conn)
            finally:
                conn.close()
        except SQLiteMaintenanceError as error:
            raise FormatError(str(error))
        finally:
            os.unlink(copy)
        if errors:
            raise FormatError("integrity check failed: %s" % errors[0].splitlines()[-1])
        return dict(integrity="ok")

    def restore(self, newest, fmt):
        started = time.monotonic()
        try:
            if fmt in SQLITE_FORMATS:
                results = self.restore_sqlite(newest, fmt)
            elif fmt in POSTGRESQL_FORMATS:
                results = self.restore_postgresql(newest, fmt)
            elif fmt in TAR_FORMATS:
                results = self.restore_tar(newest)
            else:
                self.record("restore_test", "skipped", "no restore test for %s backups: the format check reads every byte" % fmt)
                return
        except (FormatError, PostgreSQLMaintenanceError) as error:
            self.record("restore_test", "critical", "restore failed: %s" % error,
                        restore_seconds=round(time.monotonic() - started, 2))
            return
        seconds = round(time.monotonic() - started, 2)
        short = [result for result in results if result["value"] is None or result["value"] < result["min"]]
        summary = ", ".join("%s = %s" % (result["name"], result["value"]) for result in results)
        if short:
            self.record("restore_test", "critical", "restored in %.2f s, but %s" % (seconds, "; ".join(
                "%s returned %s, less than %d" % (result["name"], result["value"], result["min"]) for result in short)),
                restore_seconds=seconds)
        else:
            self.record("restore_test", "ok", "restored in %.2f s%s" % (seconds, "; " + summary if summary else ""),
                        restore_seconds=seconds)

    def smoke(self, run_query):
        results = []
        for query in self.params["smoke_queries"]:
            try:
                value = run_query(query["sql"])
            except Exception as error:  # pylint: disable=broad-except
                # Any failure of a smoke query (SQLite or PostgreSQL) is a failed restore.
                raise FormatError("smoke query %s failed: %s" % (query.get("name") or query["sql"], str(error).strip()))
            results.append(dict(name=query.get("name") or query["sql"], value=value, min=query["min"]))
        return results

    def restore_tar(self, newest):
        """The archive of a folder or volume extracted into a temporary folder, as backup_restore puts it back."""
        scratch = tempfile.mkdtemp(prefix="upkeep-restore-test-", dir=self.params["temp_dir"])
        try:
            os.mkdir(os.path.join(scratch, "restored"), 0o700)
            files, total = extract(newest, os.path.join(scratch, "restored"), os.geteuid() == 0)
        except OSError as error:
            raise FormatError("cannot restore a member: %s" % error)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return [dict(name="files", value=files, min=0), dict(name="bytes", value=total, min=0)]

    def restore_sqlite(self, newest, fmt):
        copy = self.temporary_copy(newest, fmt)
        try:
            conn = sqlite_connect(copy, 30)
            try:
                errors = integrity_errors(conn)
                if errors:
                    raise FormatError("integrity check failed: %s" % errors[0].splitlines()[-1])
                return self.smoke(lambda query: (conn.execute(query).fetchone() or [None])[0])
            finally:
                conn.close()
        finally:
            os.unlink(copy)

    def restore_postgresql(self, newest, fmt):
        if self.params["container"]:
            return self.restore_in_container(newest, fmt)
        require_driver(self.module)
        scratch = "upkeep_restore_test_%s" % uuid.uuid4().hex[:12]
        admin = connect(self.params)
        try:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(scratch)))
            try:
                self.load(newest, fmt, scratch)
                session = connect(dict(self.params, db=scratch))
                try:
                    return self.smoke(lambda query: first_value(session.execute(query)))
                finally:
                    session.close()
            finally:
                force = " WITH (FORCE)" if admin.version >= 130000 else ""
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}" + force).format(sql.Identifier(scratch)))
        except driver.Error as error:
            raise FormatError(one_line(error))
        finally:
            admin.close()

    def restore_in_container(self, newest, fmt):
        """The restore test with the client programs of the database's container: a scratch database made and
        dropped by its psql, the backup fed to its pg_restore or psql, the smoke queries asked through psql."""
        client = pg_client(self.module, self.params)
        scratch = "upkeep_restore_test_%s" % uuid.uuid4().hex[:12]
        rc, _out, err = client.run("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", 'CREATE DATABASE "%s"' % scratch])
        if rc != 0:
            raise FormatError("cannot create a scratch database: %s" % last_line_of(err))
        try:
            if fmt == "pg_custom":
                rc, _out, err = client.run("pg_restore", ["--no-owner", "--no-privileges", "--exit-on-error", "--dbname",
                                                          scratch], source=newest)
            else:
                copy = self.temporary_copy(newest, fmt)
                try:
                    rc, _out, err = client.run("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "--dbname", scratch, "-f", "-"],
                                               source=copy)
                finally:
                    os.unlink(copy)
            if rc != 0:
                raise FormatError("restoring into a scratch database failed: %s" % last_line_of(err))
            return self.smoke(lambda query: psql_value(client, scratch, query))
        finally:
            client.run("psql", ["-X", "-q", "-c", 'DROP DATABASE IF EXISTS "%s"' % scratch])

    def load(self, newest, fmt, scratch):
        restore = pg_command("pg_restore")
        environment = libpq_environment(self.params)
        if fmt in ("pg_custom", "pg_directory"):
            process = subprocess.run(
                [restore, "--no-owner", "--no-privileges", "--exit-on-error", "--dbname", scratch, newest],
                stdin=subprocess.DEVNULL, capture_output=True, text=True, env=environment, check=False)
            failed, errors = process.returncode != 0, process.stderr
        else:
            source = open_stream(newest, fmt.partition(".")[2])
            try:
                status, errors = feed_command([pg_command("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "--dbname", scratch,
                                               "-f", "-"], source, environment, self.params["temp_dir"])
            finally:
                source.close()
            failed = status != 0
        if failed:
            raise FormatError("restoring into a scratch database failed: %s" % (
                errors.strip().splitlines() or ["no message"])[-1])


def first_value(rows):
    return next(iter(rows[0].values())) if rows else None


def psql_value(client, database, query):
    """The first column of the first row of a query, asked through psql (a number where it reads as one)."""
    rc, out, err = client.run("psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "--dbname", database, "-c", query])
    if rc != 0:
        raise FormatError(last_line_of(err))
    value = (out.splitlines() or [""])[0].split("|")[0].strip()
    try:
        return int(value)
    except ValueError:
        return value or None


# The entry of each of the module's checks that finds something (the names of the results contract).
FINDING_CHECKS = dict(count="backup_count", freshness="backup_freshness", size="backup_size", shrink="backup_shrink",
                      checksum="backup_checksum", format="backup_format", restore_test="backup_restore_test")


def main():
    argument_spec = postgresql_common_argument_spec()
    argument_spec.update(
        path=dict(type="path", required=True),
        pattern=dict(type="str", default="*"),
        units=dict(type="str", default="files", choices=["files", "folders"]),
        container=dict(type="str"),
        min_count=dict(type="int", default=1),
        max_age=dict(type="str", default="26h"),
        min_size=dict(type="str", default="1"),
        max_shrink=dict(type="float", default=0.5),
        checksum=dict(type="str", default="auto", choices=["auto", "required", "none"]),
        manifest=dict(type="path"),
        check_format=dict(type="bool", default=True),
        restore_test=dict(type="bool", default=False),
        smoke_queries=dict(type="list", elements="dict", default=[], options=dict(
            name=dict(type="str"), sql=dict(type="str", required=True), min=dict(type="int", default=1))),
        temp_dir=dict(type="path"),
        fail_on=dict(type="str", default="critical", choices=list(FAIL_ON_STATUSES)),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    try:
        max_age = parse_duration(params["max_age"]) if params["max_age"] else None
        min_size = parse_size(params["min_size"])
    except ValueError as error:
        module.fail_json(msg=str(error))
    if not 0 <= params["max_shrink"] <= 1:
        module.fail_json(msg="max_shrink is a share between 0 and 1")

    verification = Verification(module, max_age, min_size)
    verification.run()
    target = params["path"] if os.path.isfile(params["path"]) else os.path.join(params["path"], params["pattern"])
    contract = dict(ok="ok", warning="warning", critical="critical", failed="failed")
    findings = [result_entry(FINDING_CHECKS[check["name"]], target, contract[check["status"]], check["message"],
                             metrics=check["metrics"]) for check in verification.checks if check["status"] not in ("ok", "skipped")]
    count = next((check["metrics"].get("count", 0) for check in verification.checks if check["name"] == "count"), 0)
    latest = verification.latest
    overview = result_entry(
        "backup_verify", target, "ok",
        "%s; newest %s, %s old%s, %s: %s" % (
            plural(count, "backup"), os.path.basename(latest["path"]), human_duration(latest["age_seconds"]),
            " (at most %s)" % human_duration(max_age) if max_age is not None else "", human_bytes(latest["size"]),
            ", ".join("%s %s" % (check["name"], check["status"]) for check in verification.checks))
        if latest else "no backup to verify: %s" % verification.checks[0]["message"],
        metrics=dict(count=count, **(dict(age_seconds=latest["age_seconds"], size_bytes=latest["size"]) if latest else {}),
                     **(dict(max_age_seconds=max_age) if max_age is not None else {})),
        details=dict(latest=latest.get("path")))
    result = dict(changed=False, latest=latest, count=count, checks=verification.checks, findings=findings,
                  upkeep_results=[overview] + findings)
    failing = failing_entries(findings, params["fail_on"])
    if failing:
        module.fail_json(msg="%s: %s" % (target, "; ".join(entry["summary"] for entry in failing)), **result)
    module.exit_json(msg=overview["summary"], **result)


if __name__ == "__main__":
    main()
