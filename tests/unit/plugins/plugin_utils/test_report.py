"""The results contract and the filters that collect and summarise it."""

import json

import pytest

from ansible_collections.upkeep.maintenance.plugins.filter.results import (
    upkeep_entries,
    upkeep_markdown,
    upkeep_notification,
    upkeep_report,
    upkeep_report_changes,
    upkeep_report_extend,
    upkeep_report_merge,
    upkeep_restore_points,
    upkeep_summary,
)
from ansible_collections.upkeep.maintenance.plugins.module_utils._results import failing_entries, result_entry, worst_status
from ansible_collections.upkeep.maintenance.plugins.module_utils._units import human_bytes


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


REGISTERED = [dict(var="backups_results", check="backup_verify", key="dest"),
              dict(var="certificates_controller_results", check="cert_expiry", key="source")]


def test_a_host_whose_roles_found_nothing_to_report_was_reached():
    # The quarterly drill on a host without backup sets: its role's loop ran over no set.
    verified = {"item": {"dest": "/b"}, "upkeep_results": [result_entry("backup_verify", "/b", "ok", "restore ok")]}
    hostvars = {"db1": {"backups_results": {"results": [verified]}},
                "dev1": {"backups_results": {"results": [], "skipped": True}}, "web3": {}}
    report = upkeep_report(hostvars, ["db1", "dev1", "web3"], "quarterly", "2026-11-23T02:00:00Z", REGISTERED)
    assert [entry["host"] for entry in report["entries"]] == ["db1"]
    assert report["hosts_not_reached"] == ["web3"]
    extended = upkeep_report_extend(report, [result_entry("notification", "ops", "failed", "no relay")], "controller")
    assert extended["hosts_not_reached"] == ["web3"]


def test_registered_results_join_the_recorded_ones_in_the_order_they_were_made():
    opened = dict(result_entry("maintenance_window", "weekly", "changed", "opened"), timestamp="2026-11-23T02:00:00Z")
    verified = dict(result_entry("backup_verify", "/b", "ok", "1 backup"), timestamp="2026-11-23T02:00:05Z")
    closed = dict(result_entry("maintenance_window", "weekly", "changed", "closed"), timestamp="2026-11-23T02:00:09Z")
    controller = dict(result_entry("cert_expiry", "www:443", "ok", "valid"), timestamp="2026-11-23T02:00:07Z")
    failed = {"item": {"dest": "/c"}, "failed": True, "msg": "permission denied"}
    web = {"upkeep_results": [opened, closed], "backups_results": {"results": [{"upkeep_results": [verified]}, failed]},
           "certificates_controller_results": {"upkeep_results": [controller]}}
    report = upkeep_report({"web1": web, "web2": dict(web)}, ["web1", "web2"], "weekly", "2026-11-23T02:01:00Z", REGISTERED)
    web1 = [(entry["check"], entry["target"], entry["status"]) for entry in report["entries"] if entry["host"] == "web1"]
    assert web1 == [("maintenance_window", "weekly", "changed"), ("backup_verify", "/b", "ok"),
                    ("cert_expiry", "www:443", "ok"), ("maintenance_window", "weekly", "changed"),
                    ("backup_verify", "/c", "failed")]
    # Each host's endpoints checked from the controller are that host's.
    assert [entry["host"] for entry in report["entries"] if entry["check"] == "cert_expiry"] == ["web1", "web2"]


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
    assert report["hosts_not_reached"] == ["web3"]
    assert "| Not reached | web3 |" in upkeep_markdown(report)

    lines = upkeep_summary(report)
    assert lines[0] == "weekly: 3 checks on 3 hosts (1 ok, 1 changed, 1 critical); 2.0 MiB reclaimed"
    assert lines[1:] == ["web1 CHANGED  sqlite_vacuum /a.db: VACUUM reclaimed 2.0 MiB",
                         "web2 CRITICAL sqlite_integrity /b.db: database is corrupt"]


def test_a_failure_the_module_reports_itself_is_not_counted_twice():
    critical = result_entry("window_preflight", "weekly", "critical", "preflight failed")
    assert upkeep_entries({"failed": True, "msg": "preflight failed", "upkeep_results": [critical]}, "x") == [critical]
    informative = result_entry("maintenance_window", "weekly", "ok", "window opened")
    entries = upkeep_entries({"failed": True, "msg": "cannot stop app", "upkeep_results": [informative]}, "maintenance_window")
    assert [entry["status"] for entry in entries] == ["ok", "failed"] and entries[1]["summary"] == "cannot stop app"


def entry_at(check, target, timestamp, backup=None, **details):
    return dict(result_entry(check, target, "changed", "s", details=dict(details, backup=backup) if backup else details),
                timestamp=timestamp)


def test_restore_points_are_the_first_backup_of_each_database_inside_the_window():
    entries = [
        entry_at("sqlite_backup", "/srv/a.db", "2026-11-22T02:59:00Z", "/b/a-old.db"),
        entry_at("sqlite_backup", "/srv/a.db", "2026-11-22T03:00:05Z", "/b/a-first.db"),
        entry_at("sqlite_vacuum", "/srv/a.db", "2026-11-22T03:00:06Z"),
        entry_at("sqlite_backup", "/srv/a.db", "2026-11-22T03:00:09Z", "/b/a-second.db"),
        entry_at("sqlite_backup", "/srv/b.db", "2026-11-22T03:00:04Z", "/b/b.db"),
    ]
    assert upkeep_restore_points(entries, "2026-11-22T03:00:04Z") == [
        dict(kind="sqlite", path="/srv/b.db", backup="/b/b.db"), dict(kind="sqlite", path="/srv/a.db", backup="/b/a-first.db")]
    assert upkeep_restore_points(entries, "2026-11-22T04:00:00Z") == []


def test_restore_points_of_folders_and_volumes_are_their_archives_written_or_found_identical_in_the_window():
    entries = [
        entry_at("backup_create", "/etc/orders", "2026-11-22T03:00:05Z", path="/b/etc_orders-1.tar.zst", outcome="identical"),
        entry_at("backup_create", "uploads", "2026-11-22T03:00:06Z", path="/b/uploads-1.tar.zst", outcome="created"),
        entry_at("backup_create", "/srv/reused", "2026-11-22T03:00:07Z", path="/b/srv_reused-0.tar.zst", outcome="reused"),
        entry_at("backup_create", "app", "2026-11-22T03:00:08Z", path="/b/app-1.dump", outcome="created"),
    ]
    assert upkeep_restore_points(entries, "2026-11-22T03:00:04Z") == [
        dict(kind="folder", path="/etc/orders", backup="/b/etc_orders-1.tar.zst"),
        dict(kind="volume", path="uploads", backup="/b/uploads-1.tar.zst")]


def test_notification_of_a_slice_names_only_its_hosts():
    hostvars = {"web1": {"upkeep_results": [result_entry("cert_expiry", "/a.pem", "critical", "expired")]},
                "web2": {"upkeep_results": [result_entry("window_rollback", "web2", "critical", "rolled back")]}}
    report = upkeep_report(hostvars, ["web1", "web2"], "weekly", "2026-11-23T02:00:00Z")
    everything = upkeep_notification(report, ["critical"])["text"]
    assert "expired" in everything and "rolled back" in everything
    slice_two = upkeep_notification(report, ["critical"], ["web2"])["text"]
    assert "rolled back" in slice_two and "expired" not in slice_two
    assert upkeep_notification(report, ["warning"], ["web2"]) is None


def _host_report(run, finished, *entries):
    return upkeep_report({"web1": {"upkeep_results": list(entries)}, "web2": {"upkeep_results": []}}, ["web1", "web2"],
                         run, finished)


def test_changes_since_the_previous_report_of_the_same_run(tmp_path):
    database = dict(metrics=dict(size_bytes=1 << 20))
    earlier = _host_report("weekly", "2026-11-15T04:00:00Z",
                           dict(result_entry("sqlite_integrity", "/srv/a.db", "ok", "ok"), **database),
                           result_entry("cert_expiry", "/etc/ssl/a.pem", "warning", "expires in 20 days"),
                           result_entry("health_disk", "/", "critical", "95% used"))
    (tmp_path / "weekly-20261115T040000Z.json").write_text(json.dumps(earlier))
    # Another run's report, a newer one and an unreadable one are not the previous weekly report.
    (tmp_path / "daily-20261121T030000Z.json").write_text(json.dumps(_host_report("daily", "2026-11-21T03:00:00Z")))
    (tmp_path / "weekly-20261120T040000Z.json").write_text("{not json")
    (tmp_path / "weekly-20261130T040000Z.json").write_text(json.dumps(_host_report("weekly", "2026-11-30T04:00:00Z")))
    now = dict(upkeep_report({"web1": {"upkeep_results": [
        dict(result_entry("sqlite_integrity", "/srv/a.db", "critical", "database disk image is malformed"),
             metrics=dict(size_bytes=3 << 20)),
        result_entry("cert_expiry", "/etc/ssl/a.pem", "ok", "expires in 89 days")]}}, ["web1"], "weekly", "2026-11-22T04:10:00Z"),
        started="2026-11-22T04:00:00Z")
    changes = upkeep_report_changes(now, str(tmp_path))["changes"]
    assert changes["previous_started"] == earlier["started"]
    assert [(entry["check"], entry["status"], entry["previous_status"]) for entry in changes["new"]] == [
        ("sqlite_integrity", "critical", "ok")]
    assert sorted((entry["check"], entry["previous_status"]) for entry in changes["resolved"]) == [
        ("cert_expiry", "warning"), ("health_disk", "critical")]
    assert changes["sizes"] == [dict(host="web1", check="sqlite_integrity", target="/srv/a.db", before_bytes=1 << 20,
                                     after_bytes=3 << 20, growth_bytes=2 << 20)]
    markdown = upkeep_markdown(upkeep_report_changes(now, str(tmp_path)))
    assert "## Since the previous run (%s)" % earlier["started"] in markdown
    assert "- size: **web1** `sqlite_integrity` /srv/a.db: 1.0 MiB to 3.0 MiB (+2.0 MiB)" in markdown
    assert upkeep_report_changes(now, str(tmp_path / "none"))["changes"] is None


def test_on_change_a_lasting_finding_is_not_notified_again_and_a_resolved_one_is(tmp_path):
    finding = result_entry("health_endpoint", "http://app/health", "critical", "connection refused")
    (tmp_path / "pulse-20261125T100000Z.json").write_text(json.dumps(_host_report("pulse", "2026-11-25T10:00:00Z", finding)))
    lasting = upkeep_report_changes(dict(_host_report("pulse", "2026-11-25T10:05:00Z", finding), started="2026-11-25T10:05:00Z"),
                                    str(tmp_path))
    assert upkeep_notification(lasting, ["critical"], on_change=True) is None
    assert upkeep_notification(lasting, ["critical"]) is not None
    resolved = upkeep_report_changes(dict(_host_report("pulse", "2026-11-25T10:05:00Z",
                                                       result_entry("host_health", "web1", "ok", "all well")),
                                          started="2026-11-25T10:05:00Z"), str(tmp_path))
    assert upkeep_notification(resolved, ["critical"], on_change=True)["text"].splitlines()[1:] == [
        "RESOLVED web1 http://app/health: no longer found: connection refused"]


def test_the_report_shows_the_downtime_of_each_window_and_the_figures_before_and_after():
    closed = dict(result_entry("maintenance_window", "weekly", "changed", "weekly window closed"),
                  details=dict(opened="2026-11-22T02:00:00Z", closed="2026-11-22T02:07:30Z", down=["orders", "app/web"]))
    vacuumed = result_entry("postgresql_vacuum", "app.public.events", "changed", "vacuumed",
                            metrics=dict(dead_tuples_before=180000, dead_tuples_after=0))
    report = upkeep_report({"orders1": {"upkeep_results": [closed, vacuumed]}}, ["orders1"], "weekly", "2026-11-22T02:08:00Z")
    assert report["downtime"] == [{"host": "orders1", "services": ["orders", "app/web"], "from": "2026-11-22T02:00:00Z",
                                   "to": "2026-11-22T02:07:30Z", "seconds": 450}]
    markdown = upkeep_markdown(report)
    assert "| orders1 | orders, app/web | 2026-11-22T02:00:00Z | 2026-11-22T02:07:30Z | 450 |" in markdown
    assert "| orders1 | postgresql_vacuum | app.public.events | dead_tuples | 180000 | 0 |" in markdown


def test_the_report_names_the_next_window_of_each_host_with_a_calendar():
    hostvars = {"orders1": {"window_calendar": {"weekday": "sat", "hour": 2}, "upkeep_results": []}, "dev1": {}}
    report = upkeep_report(hostvars, ["orders1", "dev1"], "weekly", "2026-11-25T21:37:00Z")
    assert report["next_windows"] == {"orders1": "2026-11-28T02:00:00Z"}
    assert "| Next window | orders1 2026-11-28T02:00:00Z |" in upkeep_markdown(report)


def _slice(hosts, started, job, problem):
    """A slice's report, written as the report role names it, with one finding per host."""
    finding = dict(result_entry("health_disk", "/", problem, "disk"), timestamp=started)
    report = upkeep_report(dict((host, {"upkeep_results": [finding]}) for host in hosts), hosts, "daily", started)
    return report, "daily-%s-%s.json" % (started.replace(":", "").replace("-", ""), job)


def test_slices_merge_into_the_report_of_the_whole_run_and_compare_with_each_host_s_previous_slice(tmp_path):
    # Yesterday's four slices, each with a quarter of the hosts; today the same hosts in other slices.
    hosts = ["web%d" % number for number in range(8)]
    for index in range(4):
        report, name = _slice(hosts[index::4], "2026-11-25T02:00:0%dZ" % index, 4700 + index, "critical")
        (tmp_path / name).write_text(json.dumps(report))
    today = [_slice(hosts[index * 2:index * 2 + 2], "2026-11-26T02:00:00Z", 4800 + index, "ok")[0] for index in range(4)]
    changes = upkeep_report_changes(today[0], str(tmp_path))["changes"]
    # web0 was in yesterday's first slice, web1 in its second: both findings are resolved, none is new.
    assert sorted(entry["host"] for entry in changes["resolved"]) == ["web0", "web1"] and changes["new"] == []

    merged = upkeep_report_merge([dict(report, changes=upkeep_report_changes(report, str(tmp_path))["changes"])
                                  for report in today])
    assert merged["slices"] == 4 and merged["hosts"] == hosts and merged["hosts_not_reached"] == []
    assert merged["counts"]["ok"] == 8 and merged["status"] == "ok"
    assert sorted(entry["host"] for entry in merged["changes"]["resolved"]) == hosts
    with pytest.raises(Exception, match="different runs"):
        upkeep_report_merge([today[0], dict(today[1], run="weekly")])
    with pytest.raises(Exception, match="no report to merge"):
        upkeep_report_merge([])
