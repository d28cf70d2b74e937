#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: sqlite_vacuum
short_description: VACUUM, ANALYZE, REINDEX and checkpoint an SQLite database when it is worth it
version_added: 0.1.0
description:
  - Runs VACUUM only when enough pages are free (O(min_freelist_ratio) and O(min_freelist_pages)) or when O(vacuum=always).
  - Refuses to VACUUM or REINDEX a database that fails its integrity check, and checks before starting that the file
    system has the space VACUUM needs (the journal or WAL next to the database, and the compacted copy in SQLite's
    temporary folder unless it is built in memory, see O(vacuum_copy)).
  - Refreshes the planner statistics the way C(PRAGMA optimize) does (ANALYZE with an analysis limit, so the cost does not grow
    with the database) inside a transaction, and keeps them only when they differ from the stored ones.
  - Optionally rebuilds every index (REINDEX) and truncates the write-ahead log (C(PRAGMA wal_checkpoint) in C(TRUNCATE) mode).
  - Reports changed only when the file really changed (pages reclaimed, statistics differ, indexes rebuilt, WAL frames
    checkpointed), so a second run reports no change.
  - Stop the applications that write to the database first, as the C(upkeep.maintenance.sqlite) role does.
    VACUUM needs the database to itself and waits at most O(busy_timeout) for it.
author:
  - upkeep.maintenance contributors (@upkeep)
extends_documentation_fragment:
  - upkeep.maintenance.sqlite
  - upkeep.maintenance.sqlite.VACUUM_THRESHOLDS
  - upkeep.maintenance.sqlite.INTEGRITY
  - upkeep.maintenance.attributes
  - upkeep.maintenance.attributes.PLATFORM
attributes:
  check_mode:
    support: full
    details:
      - In check mode the statistics are computed in a transaction that is rolled back, so the prediction is exact.
  diff_mode:
    support: none
options:
  vacuum:
    description:
      - V(auto) runs VACUUM when the thresholds say it is due.
      - V(always) runs it in any case; V(never) leaves the free pages in the file.
    type: str
    choices: [auto, always, never]
    default: auto
  vacuum_copy:
    description:
      - Where VACUUM builds the compacted copy of the database before writing it back.
      - V(auto) builds it in memory when it takes at most a quarter of the memory available (the kernel's
        C(MemAvailable), lowered to what is left under the memory limits of the module's control group and the
        groups above it, such as a container's limit), and in SQLite's temporary folder otherwise. In memory the
        VACUUM is faster and the temporary folder needs no room for it.
      - V(file) always builds it in SQLite's temporary folder (C(SQLITE_TMPDIR), C(TMPDIR), C(/var/tmp), C(/usr/tmp), C(/tmp)).
    type: str
    choices: [auto, file]
    default: auto
  journal_mode:
    description:
      - Put the database in this journal mode when it is in another (V(wal) lets readers work while a writer writes),
        as the last step. Left as it is when not given.
      - C(PRAGMA synchronous), C(cache_size) and C(temp_store) are not stored in the database. Each connection of
        the application sets its own, so they cannot be set from here.
    type: str
    choices: [delete, truncate, persist, wal]
  analyze:
    description:
      - Refresh the planner statistics (ANALYZE), keeping them only when they differ from the stored ones.
    type: bool
    default: true
  analysis_limit:
    description:
      - Rows ANALYZE samples per index (C(PRAGMA analysis_limit)); V(0) reads every row.
    type: int
    default: 2000
  reindex:
    description:
      - Rebuild every index (REINDEX). This always rewrites the indexes, so the task reports changed.
    type: bool
    default: false
  checkpoint:
    description:
      - In WAL mode, copy the write-ahead log into the database and truncate it to zero bytes.
      - After a VACUUM in WAL mode the log is always checkpointed, since VACUUM writes the whole database into it.
    type: bool
    default: false
seealso:
  - module: upkeep.maintenance.sqlite_check
  - module: upkeep.maintenance.sqlite_backup
  - name: SQLite VACUUM
    description: What VACUUM does and the space it needs.
    link: https://www.sqlite.org/lang_vacuum.html
"""

EXAMPLES = r"""
- name: Reclaim space when at least 10 % of the pages are free, refresh statistics
  upkeep.maintenance.sqlite_vacuum:
    path: /srv/app/data/app.db

- name: Monthly - always VACUUM, rebuild indexes, truncate the WAL
  upkeep.maintenance.sqlite_vacuum:
    path: /srv/app/data/app.db
    vacuum: always
    reindex: true
    checkpoint: true
    busy_timeout: 120
  register: vacuum

- name: Say what was reclaimed
  ansible.builtin.debug:
    msg: "{{ vacuum.size_before - vacuum.size_after }} bytes reclaimed by {{ vacuum.actions | join(', ') }}"
"""

RETURN = r"""
actions:
  description: What was done, in order (in check mode, what would be done); a subset of V(vacuum), V(reindex), V(analyze), V(checkpoint).
  returned: always
  type: list
  elements: str
  sample: [vacuum, analyze, checkpoint]
sql:
  description: The statements executed, in order.
  returned: always
  type: list
  elements: str
  sample: ["PRAGMA temp_store = MEMORY", "VACUUM", "ANALYZE", "PRAGMA wal_checkpoint(TRUNCATE)"]
vacuum_copy:
  description: Where VACUUM built (in check mode, would build) the compacted copy, V(memory) or V(file); null without a VACUUM.
  returned: always
  type: str
  sample: memory
size_before:
  description: Size of the database file in bytes before.
  returned: always
  type: int
  sample: 104857600
size_after:
  description: Size of the database file in bytes after (in check mode, the size VACUUM would leave).
  returned: always
  type: int
  sample: 52428800
freelist_before:
  description: Free pages before.
  returned: always
  type: int
  sample: 12800
freelist_after:
  description: Free pages after (in check mode, the count VACUUM would leave).
  returned: always
  type: int
  sample: 0
bytes_reclaimed:
  description: Bytes given back to the file system, C(size_before - size_after).
  returned: always
  type: int
  sample: 52428800
vacuum_due:
  description: Whether the thresholds called for VACUUM.
  returned: always
  type: bool
  sample: true
statistics_changed:
  description: Whether ANALYZE produced statistics that differ from the stored ones.
  returned: always
  type: bool
  sample: false
wal_frames_checkpointed:
  description: WAL frames copied into the database by the checkpoint.
  returned: always
  type: int
  sample: 0
duration:
  description: Seconds the module spent on the database.
  returned: always
  type: float
  sample: 3.2
timings:
  description: Seconds spent in each step that ran, among V(integrity_check), V(vacuum), V(reindex), V(analyze) and V(checkpoint).
  returned: always
  type: dict
  sample: {"integrity_check": 0.9, "vacuum": 2.1, "analyze": 0.01}
upkeep_results:
  description: The outcome as one entry of the collection's results contract (C(docs/results.md)), check V(sqlite_vacuum).
  returned: always
  type: list
  elements: dict
  sample:
    - check: sqlite_vacuum
      target: /srv/app/data/app.db
      status: changed
      summary: "VACUUM reclaimed 50.0 MiB (100.0 MiB to 50.0 MiB); statistics updated"
      metrics: {"bytes_reclaimed": 52428800, "duration_seconds": 3.2}
      details: {"actions": ["vacuum", "analyze"]}
      timestamp: "2026-11-23T09:00:00Z"
"""

import sqlite3
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.upkeep.maintenance.plugins.module_utils._results import result_entry
from ansible_collections.upkeep.maintenance.plugins.module_utils._units import human_bytes
from ansible_collections.upkeep.maintenance.plugins.module_utils._sqlite import (
    INTEGRITY_ARGUMENT_SPEC,
    VACUUM_THRESHOLD_ARGUMENT_SPEC,
    SQLiteMaintenanceError,
    analyze,
    compacted_size,
    connect,
    database_stats,
    explain,
    integrity_errors,
    sqlite_common_argument_spec,
    vacuum_copy_fits_in_memory,
    vacuum_due,
    vacuum_space_shortfalls,
)


class Maintenance(object):
    """One run against one database: the plan, the checks that guard it, and what it did."""

    def __init__(self, module, conn):
        self.module = module
        self.params = module.params
        self.path = self.params["path"]
        self.conn = conn
        self.before = database_stats(conn, self.path)
        self.due = vacuum_due(self.before, self.params["min_freelist_ratio"], self.params["min_freelist_pages"])
        self.vacuum = self.params["vacuum"] == "always" or (self.params["vacuum"] == "auto" and self.due)
        self.checkpoint = self.params["checkpoint"] and self.before["journal_mode"] == "wal"
        self.copy_in_memory = self.vacuum and self.params["vacuum_copy"] == "auto" and vacuum_copy_fits_in_memory(
            self.before)
        self.actions = []
        self.sql = []
        self.frames = 0
        self.statistics_changed = False
        self.timings = {}

    def timed(self, step, work, *args):
        started = time.monotonic()
        try:
            return work(*args)
        finally:
            self.timings[step] = round(self.timings.get(step, 0) + time.monotonic() - started, 3)

    def guard(self):
        """Refuse before anything is written: a rewrite of a corrupt file, or a VACUUM the disk cannot hold."""
        if self.vacuum or self.params["reindex"]:
            errors = self.timed("integrity_check", integrity_errors, self.conn, self.params["integrity"])
            if errors:
                self.module.fail_json(
                    msg="%s: refusing to rewrite a database that fails its integrity check: %s"
                        % (self.path, errors[0].splitlines()[-1]),
                    integrity_errors=errors)
        if self.vacuum:
            shortfalls = vacuum_space_shortfalls(self.path, self.before, self.copy_in_memory)
            if shortfalls:
                self.module.fail_json(msg="%s: not enough free space for VACUUM: %s" % (self.path, "; ".join(
                    "%s needs %s, %s free" % (folder, human_bytes(need), human_bytes(free))
                    for folder, need, free in shortfalls)))

    def execute(self, statement):
        self.sql.append(statement)
        return self.conn.execute(statement).fetchall()

    def run_checkpoint(self):
        busy, frames, _checkpointed = self.execute("PRAGMA wal_checkpoint(TRUNCATE)")[0]
        if busy:
            self.module.warn("%s: the WAL checkpoint could not finish because other connections are reading" % self.path)
        self.frames += max(frames, 0)

    def run(self):
        """VACUUM, REINDEX, ANALYZE, then the checkpoint, so that the WAL is empty at the end."""
        check_mode = self.module.check_mode
        if self.vacuum:
            self.actions.append("vacuum")
            if not check_mode:
                if self.copy_in_memory:
                    self.execute("PRAGMA temp_store = MEMORY")
                self.timed("vacuum", self.execute, "VACUUM")
        if self.params["reindex"]:
            self.actions.append("reindex")
            if not check_mode:
                self.timed("reindex", self.execute, "REINDEX")
        if self.params["analyze"]:
            self.statistics_changed = self.timed(
                "analyze", analyze, self.conn, self.params["analysis_limit"], not check_mode)
            if self.statistics_changed:
                self.actions.append("analyze")
            if not check_mode:
                self.sql.append("ANALYZE" if self.statistics_changed else "ANALYZE (rolled back: statistics unchanged)")
        # VACUUM in WAL mode writes the whole database into the WAL: only a checkpoint shrinks the file.
        if self.checkpoint or (self.vacuum and self.before["journal_mode"] == "wal"):
            if check_mode:
                if self.before["wal_size"] or self.vacuum:
                    self.actions.append("checkpoint")
            else:
                self.timed("checkpoint", self.run_checkpoint)
                if self.frames:
                    self.actions.append("checkpoint")
        # Last, so that a VACUUM before it never goes through a WAL that nothing checkpoints.
        wanted = self.params["journal_mode"]
        if wanted and self.before["journal_mode"] != wanted:
            self.actions.append("journal_mode")
            if not check_mode:
                [(mode,)] = self.timed("journal_mode", self.execute, "PRAGMA journal_mode = %s" % wanted.upper())
                if mode != wanted:
                    self.module.fail_json(msg="%s: SQLite kept the journal mode %s instead of %s (WAL needs a file system "
                                              "with shared memory, not a network one)" % (self.path, mode, wanted))

    def after(self):
        if not self.module.check_mode:
            return database_stats(self.conn, self.path)
        if not self.vacuum:
            return self.before
        return dict(self.before, size=compacted_size(self.before), freelist_count=0)

    def result(self, duration):
        after = self.after()
        reclaimed = self.before["size"] - after["size"]
        vacuum_changed = self.vacuum and (self.before["freelist_count"] > 0 or reclaimed != 0)
        changed = bool(vacuum_changed or self.params["reindex"] or self.statistics_changed
                       or "checkpoint" in self.actions or "journal_mode" in self.actions)
        return dict(
            changed=changed,
            actions=self.actions,
            sql=self.sql,
            size_before=self.before["size"],
            size_after=after["size"],
            freelist_before=self.before["freelist_count"],
            freelist_after=after["freelist_count"],
            bytes_reclaimed=reclaimed,
            vacuum_due=self.due,
            vacuum_copy=("memory" if self.copy_in_memory else "file") if self.vacuum else None,
            statistics_changed=self.statistics_changed,
            wal_frames_checkpointed=self.frames,
            duration=round(duration, 3),
            timings=self.timings,
            upkeep_results=[self.entry(changed, reclaimed, after, duration)],
        )

    def entry(self, changed, reclaimed, after, duration):
        would = "would be " if self.module.check_mode else ""
        parts = []
        if self.vacuum:
            verb = "would reclaim" if would else "reclaimed"
            parts.append("VACUUM %s %s (%s to %s)" % (
                verb, human_bytes(reclaimed), human_bytes(self.before["size"]), human_bytes(after["size"])))
        if self.params["reindex"]:
            parts.append("indexes %srebuilt" % would)
        if self.statistics_changed:
            parts.append("statistics %supdated" % would)
        if self.frames:
            parts.append("%d WAL frames checkpointed" % self.frames)
        if "journal_mode" in self.actions:
            parts.append("journal mode %sset to %s (%s %s)" % (
                would, self.params["journal_mode"], "now" if would else "was", self.before["journal_mode"]))
        summary = "; ".join(parts) if parts else "nothing to do: %d %% free pages, statistics current" % round(
            self.before["freelist_ratio"] * 100)
        return result_entry(
            "sqlite_vacuum", self.path, "changed" if changed else "ok", summary,
            metrics=dict(bytes_reclaimed=reclaimed, size_bytes=after["size"], freelist_count=after["freelist_count"],
                         size_before_bytes=self.before["size"], size_after_bytes=after["size"],
                         duration_seconds=round(duration, 3)),
            details=dict(actions=self.actions, sql=self.sql, check_mode=self.module.check_mode))


def main():
    argument_spec = sqlite_common_argument_spec()
    argument_spec.update(VACUUM_THRESHOLD_ARGUMENT_SPEC)
    argument_spec.update(INTEGRITY_ARGUMENT_SPEC)
    argument_spec.update(
        vacuum=dict(type="str", default="auto", choices=["auto", "always", "never"]),
        analyze=dict(type="bool", default=True),
        analysis_limit=dict(type="int", default=2000),
        journal_mode=dict(type="str", choices=["delete", "truncate", "persist", "wal"]),
        reindex=dict(type="bool", default=False),
        checkpoint=dict(type="bool", default=False),
        vacuum_copy=dict(type="str", default="auto", choices=["auto", "file"]),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if module.params["analysis_limit"] < 0:
        module.fail_json(msg="analysis_limit must be 0 (read every row) or a positive number of rows")

    started = time.monotonic()
    try:
        conn = connect(module.params["path"], module.params["busy_timeout"])
        try:
            maintenance = Maintenance(module, conn)
            maintenance.guard()
            maintenance.run()
            result = maintenance.result(time.monotonic() - started)
        finally:
            conn.close()
    except SQLiteMaintenanceError as error:
        module.fail_json(msg=str(error))
    except sqlite3.Error as error:
        module.fail_json(msg=str(explain(error, module.params["path"], module.params["busy_timeout"])))
    module.exit_json(msg=result["upkeep_results"][0]["summary"], **result)


if __name__ == "__main__":
    main()
