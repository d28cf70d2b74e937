# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Entries of the shared results contract (docs/results.md).

Every module returns its findings as ``upkeep_results``, a list of entries that the roles
append to the ``upkeep_results`` fact, so that the report, metrics and notifications read
one format.
"""

import collections
import time

from ansible_collections.upkeep.maintenance.plugins.module_utils._units import utc_stamp

# Ordered from best to worst: the worst status of a set of entries is the one with the highest index.
STATUSES = ("ok", "changed", "warning", "critical", "failed")

# fail_on values shared by the checking modules, mapped to the statuses that make a module fail; "error" fails only
# when a check could not run.
FAIL_ON_STATUSES = {
    "critical": ("critical", "failed"),
    "warning": ("warning", "critical", "failed"),
    "error": ("failed",),
    "never": (),
}


Check = collections.namedtuple("Check", "emitter statuses recommendation")

_HEALTH_FINDING = "`warning`, `critical` by the thresholds given"
_PER_CERTIFICATE = ("one `ok` entry per call with the counts and the fewest days remaining; per certificate that needs "
                    "attention `warning`, `critical` (also for expired, not yet valid, a failed chain or a name mismatch), "
                    "`failed` (unreadable file or endpoint)")
_QUERY_TEXT = "`warning`; the query text has its string literals replaced by `'?'`"

# Every check an entry can name: what writes it, the statuses it takes, and what to do about a finding of it (the
# report lists the recommendation of each check found once). docs/results.md's table of checks is generated from it
# (tools/results_table.py), and tests/unit/plugins/module_utils/test_check_registry.py finds every name the collection
# emits here.
CHECKS = {
    "backup_checksum": Check(
        "`backup_verify`", "`warning` (no checksum recorded), `critical` (a checksum that does not match)",
        "A backup changed after it was written: take a new one and check the storage."),
    "backup_count": Check(
        "`backup_verify`", "`warning` (fewer backups than wanted), `critical` (none), `failed` (the folder cannot be read)",
        None),
    "backup_create": Check(
        "`backup_create`", "`changed` (written), `ok` (a recent or identical backup reused), `failed`", None),
    "backup_format": Check(
        "`backup_verify`", "`critical` (a backup that does not read to the end in its format)",
        "A backup does not read to the end: take a new one and check the storage."),
    "backup_freshness": Check(
        "`backup_verify`", "`critical` (the newest backup older than the limit that applied, which the summary names)",
        "The backup job has stopped: check its schedule and its last log."),
    "backup_restore": Check(
        "`backup_restore`", "`changed` (put back; the replaced contents kept), `ok` (the target already held the "
        "archive's contents), `failed`", None),
    "backup_restore_test": Check(
        "`backup_verify`", "`critical` (the test restore or a smoke query failed)",
        "A backup does not restore: fix the backup job before it is needed."),
    "backup_shrink": Check("`backup_verify`", "`warning` (the newest backup shrank more than allowed)", None),
    "backup_size": Check("`backup_verify`", "`critical` (the newest backup smaller than the minimum)", None),
    "backup_verify": Check(
        "`backup_verify`", "`ok`: one per backup set, with its count, the newest backup's age and size as metrics", None),
    "cert_expiry": Check("`cert_expiry`", _PER_CERTIFICATE,
                         "Renew the certificates that expire soon, or enable certificates_renew."),
    "cert_renewal": Check("role `certificates`", "`changed` (the renewal command ran for due certificates), `failed`", None),
    "dependency_advisories": Check(
        "`dependency_audit`", "`warning` (advisory files that could not be read, or an OSV API that did not answer: "
        "the local database alone was used)", None),
    "dependency_audit": Check(
        "`dependency_audit`, role `dependencies`", "`ok`: one per run with the counts as metrics; `failed` (the audit did "
        "not run: no advisory database could be read)",
        "Make the advisory database readable on the controller (dependencies_database), or the OSV API reachable: the "
        "dependencies were not audited."),
    "dependency_inventory": Check(
        "`dependency_inventory`, `dependency_audit`", "`ok`: one per host with the projects and packages found; "
        "`warning`, `failed` (a lock file that cannot be read, a package of the inventory that is not text)",
        "Repair or regenerate the lock files that could not be read; their packages were not audited."),
    "dependency_license": Check(
        "`dependency_audit`", "`warning` (a license not in the allowed list, or none found)",
        "Replace the packages whose license is not allowed, or have their license approved and added to "
        "dependencies_allowed_licenses."),
    "dependency_outdated": Check(
        "`dependency_audit`", "`warning` (behind the latest release for longer than allowed, or the package index "
        "that did not answer)",
        "Update the dependencies that have been behind for long; the audit names each latest release."),
    "dependency_unpinned": Check(
        "`dependency_inventory`", "`warning` (requirements that pin no version)",
        "Pin the requirements (a lock file or == versions), so that what is installed can be audited."),
    "dependency_vulnerability": Check(
        "`dependency_audit`", "`warning`, `critical` by the advisory's severity (`warning` also for an advisory whose "
        "range could not be evaluated, which the summary says)",
        "Upgrade the vulnerable packages to the versions their findings name (npm audit fix, uv lock --upgrade-package "
        "NAME, poetry update NAME, pip-compile -P NAME), then deploy the new lock files."),
    "docker_log": Check(
        "`docker_prune`", "`warning` (a container's json-file log larger than the limit that Docker does not rotate)",
        None),
    "docker_prune": Check("`docker_prune`", "`changed` (leftovers removed, `bytes_reclaimed` per kind), `ok`", None),
    "health_container": Check("`host_health`", _HEALTH_FINDING, None),
    "health_disk": Check("`host_health`", _HEALTH_FINDING,
                         "Free space on the full file systems (logs, backups, caches) or grow them."),
    "health_endpoint": Check("`host_health`", _HEALTH_FINDING, "Check the endpoints that fail or answer slowly."),
    "health_load": Check("`host_health`", _HEALTH_FINDING, None),
    "health_memory": Check("`host_health`", _HEALTH_FINDING, "Find what uses the memory; add memory or swap."),
    "health_service": Check("`host_health`", _HEALTH_FINDING, "Start the stopped services and find why they stopped."),
    "host_health": Check(
        "`host_health`", "`ok`: one per host with the fullest disk, memory and load as metrics", None),
    "log_errors": Check(
        "`log_scan`, `host_health`", "`ok`, `warning`, `critical` by the count of error lines in the window of all the "
        "logs together (each log's count in `details.files`; a log with limits of its own has its own entry); `failed` "
        "(unreadable log)", "Read the errors in the logs that have many."),
    "logrotate_policy": Check("role `logs`", "`changed` (a policy was installed or updated)", None),
    "maintenance_window": Check(
        "`maintenance_window`", "`changed` (opened: flag raised or services stopped; closed: services started, flag "
        "removed), `ok` (nothing to do), `warning` (an earlier window was never closed), `critical` (services that do "
        "not stop or start, endpoints that do not answer)",
        "A run died inside its window: find out why; the services it stopped were started again."),
    "notification": Check(
        "`notify`, roles `report` and `window`", "`ok` (sent), `failed` (a channel that did not take it; the run goes "
        "on)", None),
    "package_cache": Check("role `cleanup`", "`changed`, with `bytes_reclaimed`", None),
    "postgresql_archiver": Check(
        "`postgresql_maintenance_info`", "`critical` (the last archiving attempt failed)",
        "Repair WAL archiving before the disk fills with WAL."),
    "postgresql_bloat": Check(
        "`postgresql_maintenance_info`",
        "`warning` (a table or index over the bloat ratio, wasting more than the minimum)",
        "Rewrite the bloated tables with VACUUM FULL (or pg_repack) in the monthly window; list them in full_tables."),
    "postgresql_connections": Check(
        "`postgresql_maintenance_info`", "`warning`, `critical`", "Use a connection pool or raise max_connections."),
    "postgresql_health": Check(
        "`postgresql_maintenance_info`", "`ok`: one per database, with its size, connections, wraparound share and "
        "finding count as metrics", None),
    "postgresql_idle_in_transaction": Check(
        "`postgresql_maintenance_info`", _QUERY_TEXT,
        "Fix the application code that leaves transactions open; set idle_in_transaction_session_timeout."),
    "postgresql_invalid_index": Check(
        "`postgresql_maintenance_info`", "`warning` (an index an interrupted build left invalid)",
        "Drop the invalid indexes, or rebuild them with REINDEX INDEX CONCURRENTLY; the weekly run drops the "
        "_ccnew/_ccold leftovers of interrupted rebuilds itself."),
    "postgresql_lock_wait": Check(
        "`postgresql_maintenance_info`", "`warning` (a query waiting for a lock longer than the limit, with the "
        "sessions that hold it)", None),
    "postgresql_long_query": Check(
        "`postgresql_maintenance_info`", _QUERY_TEXT,
        "Analyze the slow queries (EXPLAIN ANALYZE) and add the indexes they need."),
    "postgresql_reindex": Check(
        "`postgresql_reindex`", "`ok` (nothing due), `changed` (rebuilt, or a leftover dropped), `warning` (skipped), "
        "`failed`", None),
    "postgresql_replication_lag": Check("`postgresql_maintenance_info`", "`warning`", None),
    "postgresql_replication_slot": Check(
        "`postgresql_maintenance_info`", "`warning`", "Drop the replication slots nobody consumes."),
    "postgresql_unused_index": Check(
        "`postgresql_maintenance_info`", "`warning`",
        "Drop indexes that stay unused over a whole statistics period; they slow every write."),
    "postgresql_vacuum": Check(
        "`postgresql_vacuum`", "`ok` (nothing due), `changed`, `warning` (skipped: a lock or a timeout), `failed`", None),
    "postgresql_wraparound": Check(
        "`postgresql_maintenance_info`", "`warning`, `critical`",
        "Run VACUUM FREEZE on the oldest tables of the database soon."),
    "prune": Check("`prune`", "`changed` (files deleted, compressed or archived; `bytes_reclaimed`), `ok`", None),
    "reboot": Check("roles `updates` and `window`", "`changed`", None),
    "reboot_required": Check("`pending_updates`", "`ok`, `warning` (a reboot needed)",
                             "Reboot in the next window (updates_reboot)."),
    "security_failed_logins": Check(
        "`security_review`", "`warning` (more failed logins than the limit), `failed` (a log that cannot be read)",
        "Block the addresses with many failed logins (fail2ban) and review SSH access."),
    "security_placeholder": Check(
        "`security_review`", "`critical` (a placeholder or empty secret), `failed` (a file that cannot be read)",
        "Set real secrets where placeholders or empty values remain."),
    "security_private_file": Check(
        "`security_review`", "`warning`, `critical` (a secrets file readable by others), `changed` (permissions fixed)",
        "Make the private files private (security_fix_permissions)."),
    "security_review": Check("`security_review`", "`ok`: one per host with the counts as metrics", None),
    "security_world_writable": Check(
        "`security_review`", "`warning`, `critical`", "Remove world write access from the paths listed."),
    "sqlite_backup": Check("`sqlite_backup`", "`ok` (an identical backup exists), `changed`, `failed`", None),
    "sqlite_integrity": Check(
        "`sqlite_check`", "`ok`, `critical` (corrupt, or not a database)",
        "Investigate the corrupt database: the file that was replaced is kept beside the restored one."),
    "sqlite_journal_mode": Check("`sqlite_check`", "`ok`, `warning` (not the journal mode wanted)", None),
    "sqlite_query": Check(
        "`sqlite_check`", "`ok`, the query's `severity` when out of bounds, `failed` when it cannot run",
        "Look at the data that broke its bounds."),
    "sqlite_restore": Check("`sqlite_backup` with `state: restored`", "`ok`, `changed`, `failed`", None),
    "sqlite_retention": Check(
        "`sqlite_retention`", "`ok` (nothing past its age), `changed` (rows deleted), `critical` (more rows than "
        "`max_rows`: nothing deleted)", None),
    "sqlite_vacuum": Check("`sqlite_vacuum`", "`ok`, `changed`, `failed`", None),
    "updates_applied": Check("role `updates`", "`changed`", None),
    "updates_pending": Check(
        "`pending_updates`", "`ok`, `warning` (security updates pending)",
        "Apply the pending security updates (updates_apply_security) in the next window."),
    "window_deadline": Check(
        "role `window`", "`warning` (the window passed its deadline: the steps not yet started were skipped)", None),
    "window_open": Check(
        "`host_health`", "`ok` while a maintenance window is open within its deadline: what it stopped is expected down "
        "(`details.expected`) and not a finding; `critical` once it is past its deadline. The metric "
        "`upkeep_window_open` is 1 while it is `ok`, and the shipped alert rules wait for that run", None),
    "window_preflight": Check(
        "`maintenance_window`", "`critical` (too loaded, or no room for the backups: the window did not open)",
        "Free space for the window's backups, or move the window to a quieter hour: it did not open."),
    "window_rollback": Check(
        "role `window`", "`critical`: what failed, what was restored, whether the host came back",
        "Find why the maintenance failed (the entry names the task): the databases were put back as they were before "
        "it, the replaced files are kept beside them."),
    "window_watch": Check(
        "`maintenance_window`", "`ok` (endpoints, containers and logs held while watched after the window closed), "
        "`critical` (a regression)", None),
}


def result_entry(check, target, status, summary, metrics=None, details=None):
    if status not in STATUSES:
        raise ValueError("unknown status %r" % (status,))
    return {
        "check": check,
        "target": target,
        "status": status,
        "summary": summary,
        "metrics": metrics or {},
        "details": details or {},
        "timestamp": utc_stamp(time.time()),
    }


def worst_status(statuses, default="ok"):
    ranked = [STATUSES.index(status) for status in statuses]
    return STATUSES[max(ranked)] if ranked else default


def failing_entries(entries, fail_on):
    """The entries whose status makes a module with this ``fail_on`` fail."""
    statuses = FAIL_ON_STATUSES[fail_on]
    return [entry for entry in entries if entry["status"] in statuses]
