"""The results contract and the filters that collect and summarise it."""

import pytest

from ansible_collections.upkeep.maintenance.plugins.filter.results import upkeep_entries, upkeep_report, upkeep_summary
from ansible_collections.upkeep.maintenance.plugins.module_utils._results import (
    failing_entries,
    human_bytes,
    result_entry,
    worst_status,
)


def test_entry_has_the_contract_fields():
    entry = result_entry("sqlite_vacuum", "/srv/app.db", "changed", "VACUUM reclaimed 1 MiB", metrics=dict(bytes_reclaimed=1))
    assert set(entry) == {"check", "target", "status", "summary", "metrics", "details", "timestamp"}
    assert entry["details"] == {}
    assert entry["timestamp"].endswith("Z")


def test_unknown_status_is_refused():
    with pytest.raises(ValueError):
        result_entry("x", "y", "fine", "z")


def test_worst_status_and_fail_on():
    assert worst_status(["ok", "changed", "warning"]) == "warning"
    assert worst_status([]) == "ok"
    entries = [result_entry("c", "t", status, "s") for status in ("ok", "warning", "critical")]
    assert [entry["status"] for entry in failing_entries(entries, "warning")] == ["warning", "critical"]
    assert [entry["status"] for entry in failing_entries(entries, "critical")] == ["critical"]
    assert failing_entries(entries, "never") == []


@pytest.mark.parametrize("count, text", [(512, "512 B"), (1536, "1.5 KiB"), (20 * 1024 ** 2, "20.0 MiB"), (3 * 1024 ** 4, "3.0 TiB")])
def test_human_bytes(count, text):
    assert human_bytes(count) == text


def test_entries_from_a_loop_with_a_failed_and_a_skipped_item():
    good = result_entry("sqlite_backup", "/a.db", "changed", "backup written")
    registered = {"results": [
        {"upkeep_results": [good], "item": {"path": "/a.db"}},
        {"failed": True, "msg": "/b.db: the database is locked", "item": {"path": "/b.db"}},
        {"skipped": True, "item": {"path": "/c.db"}},
    ]}
    entries = upkeep_entries(registered, "sqlite_backup")
    assert entries[0] == good
    assert (entries[1]["target"], entries[1]["status"], entries[1]["summary"]) == (
        "/b.db", "failed", "/b.db: the database is locked")
    assert len(entries) == 2


def test_report_and_summary_over_hosts():
    hostvars = {
        "web1": {"upkeep_results": [
            result_entry("sqlite_vacuum", "/a.db", "changed", "VACUUM reclaimed 2.0 MiB", metrics=dict(bytes_reclaimed=2 * 1024 ** 2)),
            result_entry("sqlite_integrity", "/a.db", "ok", "integrity ok")]},
        "web2": {"upkeep_results": [result_entry("sqlite_integrity", "/b.db", "critical", "database is corrupt")]},
        "web3": {},
    }
    report = upkeep_report(hostvars, ["web1", "web2", "web3"], "weekly", "2026-11-23T02:00:00Z")
    assert report["status"] == "critical"
    assert report["counts"]["changed"] == 1 and report["counts"]["critical"] == 1 and report["counts"]["ok"] == 1
    assert report["bytes_reclaimed"] == 2 * 1024 ** 2
    assert [entry["host"] for entry in report["entries"]] == ["web1", "web1", "web2"]

    lines = upkeep_summary(report)
    assert lines[0] == "weekly: 3 checks on 3 hosts (1 ok, 1 changed, 1 critical); 2.0 MiB reclaimed"
    assert lines[1:] == ["web1 CHANGED  sqlite_vacuum /a.db: VACUUM reclaimed 2.0 MiB",
                         "web2 CRITICAL sqlite_integrity /b.db: database is corrupt"]
