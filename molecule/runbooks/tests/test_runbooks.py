"""The five runbooks' systems after their calendar (converge.yml): one test per runbook task, named after the task as
the runbook gives it (docs/runbooks.md), checked in the runs' reports and, where the
task leaves something on the host, on the host with the system's own tools (sqlite3, psql, openssl, docker)."""

import json
import os
import re

import pytest
import testinfra

EPHEMERAL = os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]
HOSTS = {"000": "upkeep-rb-monorepo", "001": "upkeep-rb-pgapp", "002": "upkeep-rb-hub", "003": "upkeep-rb-stack",
         "004": "upkeep-rb-orders"}
# The dailies of the six days after the weekly; the backups it took are a day older each day.
WEEK = ["daily-day-%d" % day for day in range(1, 7)]
CALENDAR = ["daily", "weekly", "weekly-again"] + WEEK + ["monthly", "quarterly"]


def report(run):
    with open(os.path.join(EPHEMERAL, "runs", run + ".json")) as handle:
        return json.load(handle)


def recap(run):
    with open(os.path.join(EPHEMERAL, "runs", run + ".log")) as handle:
        return dict((host, dict((key, int(value)) for key, value in re.findall(r"(\w+)=(\d+)", counts)))
                    for host, counts in re.findall(r"^(upkeep-rb-\w+)\s+: (.*)$", handle.read(), re.MULTILINE))


def entries(system, run, check=None, status=None):
    return [entry for entry in report(run)["entries"] if entry["host"] == HOSTS[system]
            and (check is None or entry["check"] == check) and (status is None or entry["status"] == status)]


def summaries(system, run, check, status=None):
    return [entry["summary"] for entry in entries(system, run, check, status)]


def on(system):
    return testinfra.get_host("docker://" + HOSTS[system])


def sqlite(system, database, sql):
    return on(system).check_output("sqlite3 %s %s" % (database, json.dumps(sql)))


# The calendar as a whole.

@pytest.mark.parametrize("run", CALENDAR)
def test_every_run_of_the_calendar_maintained_all_five_systems(run):
    counts = recap(run)
    assert sorted(counts) == sorted(HOSTS.values())
    assert all(host["failed"] == 0 and host["unreachable"] == 0 and host["rescued"] == 0 for host in counts.values()), counts
    assert report(run)["hosts_not_reached"] == [] and report(run)["counts"]["failed"] == 0


def test_the_weekly_a_week_later_changes_nothing_but_the_weekly_reindex_004_asks_for():
    counts = recap("weekly-again")
    assert all(counts[HOSTS[system]]["changed"] == 0 for system in ("000", "001", "002", "003")), counts
    changed = set((entry["check"], entry["summary"].split(":")[0]) for entry in entries("004", "weekly-again", status="changed"))
    assert changed == {("maintenance_window", "weekly window opened"), ("maintenance_window", "weekly window closed"),
                       ("sqlite_backup", "backup written"), ("sqlite_vacuum", "indexes rebuilt")}, changed


@pytest.mark.parametrize("run", WEEK)
def test_no_daily_of_the_week_after_the_weekly_raises_a_critical(run):
    assert [(entry["host"], entry["check"], entry["target"], entry["summary"]) for entry in report(run)["entries"]
            if entry["status"] == "critical"] == []


def test_a_daily_three_days_after_the_weekly_finds_every_backup_set_as_fresh_as_its_cadence_asks():
    problems = [(entry["host"], entry["check"], entry["target"]) for entry in report("daily-day-3")["entries"]
                if entry["check"].startswith("backup_") and entry["status"] in ("warning", "critical")]
    assert problems == []
    verified = [entry for entry in report("daily-day-3")["entries"] if entry["check"] == "backup_verify"
                and entry["target"].startswith("/var/backups/upkeep/")]
    # The sets the weekly takes are three days old, within a week and a day; the stack's nightly folders, taken every
    # night by the stack's own job, are held to a day.
    assert verified and all("old (at most 8 d)" in entry["summary"] for entry in verified), verified
    assert all(entry["metrics"]["age_seconds"] > 2.9 * 86400 for entry in verified)
    nightly = [entry for entry in entries("003", "daily-day-3", "backup_verify") if "backups/backup-" in entry["target"]]
    assert nightly and all("old (at most 26 h)" in entry["summary"] for entry in nightly), nightly


def test_two_weeklies_at_once_do_not_interleave_the_second_leaves_the_host_alone():
    second = entries("004", "weekly-concurrent-second")
    [held] = [entry for entry in second if entry["check"] == "maintenance_window"]
    assert held["status"] == "warning" and held["summary"].startswith(
        "weekly window not opened: the weekly window opened at ")
    assert not [entry for entry in second if entry["check"] in ("sqlite_backup", "sqlite_vacuum", "prune")]
    assert recap("weekly-concurrent-second")[HOSTS["004"]]["failed"] == 0
    first = summaries("004", "weekly-concurrent-first", "maintenance_window")
    assert first[0].startswith("weekly window opened") and first[1].startswith("weekly window closed")
    # The first's window, still open when the second looked, and the first's own run held it.
    assert held["timestamp"] < entries("004", "weekly-concurrent-first", "maintenance_window")[1]["timestamp"]
    assert not on("004").file("/var/lib/upkeep/maintenance-window.json").exists


def test_the_schedule_takes_the_examples_calendars_and_refuses_two_whose_windows_overlap():
    assert "failed=0" in open(os.path.join(EPHEMERAL, "runs", "schedule.log")).read()
    refused = open(os.path.join(EPHEMERAL, "runs", "schedule-overlapping.log")).read()
    assert "the windows of monthly-orders and weekly-orders overlap on upkeep-rb-orders" in refused


def test_the_controller_checks_the_served_certificates_of_001_and_004_in_a_run_over_all_five_systems():
    assert sorted(recap("daily")) == sorted(HOSTS.values())
    for system, name in (("001", "app.example.com"), ("004", "orders.example.com")):
        address = open(os.path.join(EPHEMERAL, "addresses", HOSTS[system])).read().strip()
        served = [entry for entry in entries(system, "daily", "cert_expiry")
                  if entry["details"].get("endpoints") == ["%s:443 (name %s)" % (address, name)]]
        assert [entry["status"] for entry in served] == ["ok"], (system, entries(system, "daily", "cert_expiry"))


def test_the_weekly_a_week_later_reports_what_the_first_one_resolved():
    resolved = set((entry["host"], entry["check"]) for entry in report("weekly-again")["changes"]["resolved"])
    assert {(HOSTS["000"], "sqlite_journal_mode"), (HOSTS["002"], "sqlite_journal_mode")} <= resolved


# 000: a developer monorepo with a SQLite task store.

TASKS_DB = "/srv/monorepo/packages/task-server/data/tasks.db"


def test_000_daily_health_check_services_endpoints_disk():
    [health] = entries("000", "daily", "host_health")
    assert health["summary"].startswith("1/1 services up, 1/1 endpoints ok, fullest disk")


def test_000_weekly_repository_cleanup_caches_artifacts_temporary_files():
    deleted = summaries("000", "weekly", "prune", "changed")
    assert any(summary.startswith("deleted 2 of 2 files older than 24 h") for summary in deleted), deleted
    assert any(summary.startswith("deleted 1 of 1 file older than 14 d") for summary in deleted), deleted
    host = on("000")
    assert not host.file("/srv/monorepo/build-output.tmp").exists
    assert not host.file("/srv/monorepo/.cache/wheel-1.0.tar.gz").exists
    assert host.file("/srv/monorepo/services/api/pyproject.toml").exists


def test_000_weekly_security_scans():
    assert summaries("000", "weekly", "security_placeholder") == ["line 2: TASK_SERVER_TOKEN has a placeholder value"]


def test_000_monthly_database_cleanup_of_old_tasks_with_their_events():
    [deleted] = summaries("000", "weekly", "sqlite_retention")
    assert deleted == "deleted 1100 rows older than 90d"
    old_finished = ("SELECT count(*) FROM tasks WHERE status IN ('completed', 'cancelled') "
                    "AND updated_at < datetime('now', '-90 days')")
    assert sqlite("000", TASKS_DB, old_finished) == "0"
    assert sqlite("000", TASKS_DB, "SELECT count(*) FROM events WHERE task_id NOT IN (SELECT id FROM tasks)") == "0"
    assert int(sqlite("000", TASKS_DB, "SELECT count(*) FROM tasks WHERE updated_at < datetime('now', '-90 days')")) > 0


def test_000_vacuum_and_analyze_with_wal():
    assert summaries("000", "weekly", "sqlite_vacuum") == ["statistics updated; journal mode set to wal (was delete)"]
    assert sqlite("000", TASKS_DB, "PRAGMA journal_mode") == "wal"
    assert sqlite("000", TASKS_DB, "PRAGMA integrity_check") == "ok"


def test_000_database_corruption_back_up_restore_else_salvage():
    # Every window checks the database first; a healthy one is left to the vacuum, nothing restored.
    for run in ("weekly", "monthly"):
        assert summaries("000", run, "sqlite_integrity")[0].startswith("integrity ok")
        assert entries("000", run, "sqlite_restore") == []


def test_000_monthly_dependency_audit():
    checks = set(entry["check"] for entry in entries("000", "monthly"))
    assert "dependency_inventory" in checks
    vulnerable = entries("000", "monthly", "dependency_vulnerability")
    assert vulnerable and all(entry["status"] in ("warning", "critical") for entry in vulnerable)
    targets = [entry["target"] for entry in vulnerable]
    assert "jinja2@2.10 (/srv/monorepo/services/api/uv.lock)" in targets, targets
    assert any(target.startswith("requests@2.28.1 ") for target in targets), targets


# 001: a PostgreSQL application behind nginx with Let's Encrypt.

def psql(sql):
    return on("001").check_output("runuser -u postgres -- psql -X -At -d app -c %s" % json.dumps(sql))


def test_001_daily_vacuum_of_busy_tables_statistics_bloat_long_queries_lock_waits():
    vacuumed = entries("001", "daily", "postgresql_vacuum", "changed")
    assert sorted(entry["target"] for entry in vacuumed) == ["app/public.events", "app/public.sessions"]
    assert all(re.match(r"VACUUM ANALYZE: dead tuples \d+ to 0 in", entry["summary"]) for entry in vacuumed), vacuumed
    [health] = entries("001", "daily", "postgresql_health")
    assert health["status"] == "ok" and health["metrics"]["tables"] == 3
    assert psql("SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'sessions'") == "0"


def test_001_weekly_vacuum_analyze_and_reindex_in_the_window_behind_the_maintenance_page():
    windows = summaries("001", "weekly", "maintenance_window")
    assert windows[0].startswith("weekly window opened: flag /var/www/maintenance.flag up; stopped freeagentics; closes by")
    assert windows[1].startswith("weekly window closed: started freeagentics; 1/1 endpoints answer; flag")
    assert summaries("001", "weekly", "postgresql_reindex") == ["nothing to rebuild: no index over the bloat thresholds"]
    assert not on("001").file("/var/www/maintenance.flag").exists


def test_001_monthly_vacuum_full_of_listed_tables_and_reindex_database():
    full = summaries("001", "monthly", "postgresql_vacuum")
    assert any("VACUUM FULL" in summary for summary in full), full
    assert any(summary.startswith("rebuilt") for summary in summaries("001", "monthly", "postgresql_reindex"))


def test_001_log_rotation_archive_after_30_days():
    archived = summaries("001", "weekly", "prune", "changed")
    assert any(summary.startswith("archived 2 of 4 files older than 30 d (kept 2)") for summary in archived), archived
    assert any(summary.startswith("deleted 1 of 2 files older than 365 d (kept 1)") for summary in archived), archived
    host = on("001")
    assert host.file("/var/log/freeagentics/backend.log.2.gz").exists
    assert host.file("/var/log/freeagentics/archive").is_directory
    policy = host.file("/etc/logrotate.d/upkeep-freeagentics").content_string
    assert "daily" in policy and "rotate 14" in policy and "delaycompress" in policy


def test_001_certificate_expiry_of_the_files_and_the_served_certificate():
    # The files on the host, the served certificate from the controller.
    checked = summaries("001", "daily", "cert_expiry")
    assert len(checked) == 2 and all(summary.startswith("1 certificate checked: 1 ok") for summary in checked), checked
    served = on("001").check_output("openssl s_client -connect 127.0.0.1:443 -servername app.example.com </dev/null "
                                    "2>/dev/null | openssl x509 -noout -enddate")
    on_disk = on("001").check_output("openssl x509 -noout -enddate -in /etc/letsencrypt/live/app.example.com/cert.pem")
    assert served == on_disk


def test_001_maintenance_mode_during_the_windows_and_metrics():
    [downtime] = [item for item in report("weekly")["downtime"] if item["host"] == HOSTS["001"]]
    assert downtime["services"] == ["freeagentics"] and downtime["seconds"] > 0
    [closed] = [entry for entry in entries("001", "weekly", "maintenance_window") if "closed" in entry["summary"]]
    assert closed["metrics"]["response_seconds_before"] > 0 and closed["metrics"]["response_seconds_after"] > 0
    assert on("001").run("curl -sf http://127.0.0.1/").rc == 0


def test_001_windows_with_a_deadline_watched_an_hour_after_announced_before_and_after():
    [opened, closed] = summaries("001", "weekly", "maintenance_window")
    assert "closes by" in opened and closed.startswith("weekly window closed")
    assert entries("001", "weekly", "window_watch")
    # The next window, announced a day before it: a Sunday, the weekly at 03:00 or the monthly at 02:00 UTC.
    upcoming = report("weekly")["next_windows"][HOSTS["001"]]
    assert upcoming[11:] in ("02:00:00Z", "03:00:00Z")


def test_001_security_updates_and_the_dependency_audit():
    assert entries("001", "weekly", "updates_pending")
    assert [entry["target"] for entry in entries("001", "monthly", "dependency_inventory")] == ["/opt/app"]


# 002: a SQLite knowledge hub with an HTTP API.

HUB_DB = "/srv/hub/ai_knowledge_hub/knowledge_hub.db"


def test_002_daily_api_health_and_search_endpoints_integrity_disk_recent_errors():
    [health] = entries("002", "daily", "host_health")
    assert health["summary"].startswith("1/1 services up, 2/2 endpoints ok")
    assert summaries("002", "daily", "sqlite_integrity") == ["integrity ok; 664.0 KiB, 0 % free pages"]
    assert summaries("002", "daily", "log_errors")[0].startswith("3 matching lines in 24 h")


def test_002_weekly_window_backup_first_vacuum_analyze_search_log_cleanup():
    order = [entry["check"] for entry in entries("002", "weekly")]
    assert order.index("sqlite_backup") < order.index("sqlite_retention") < order.index("sqlite_vacuum")
    assert summaries("002", "weekly", "sqlite_retention") == ["deleted 2200 rows older than 90d"]
    assert sqlite("002", HUB_DB, "SELECT count(*) FROM search_log WHERE searched_at < datetime('now', '-90 days')") == "0"
    windows = summaries("002", "weekly", "maintenance_window")
    assert windows[0].startswith("weekly window opened: stopped knowledge-hub; closes by ")


def test_002_log_rotation_kept_7_days_and_backups_kept_30_days():
    pruned = summaries("002", "weekly", "prune", "changed")
    assert "archived 2 of 3 files older than 7 d (kept 1), 0 B freed" in pruned
    assert "deleted 1 of 2 files older than 30 d (kept 1), 13 B freed" in pruned
    retention = [entry for entry in entries("002", "monthly", "prune") if "knowledge-hub" in entry["target"]]
    assert retention and retention[0]["status"] == "ok"
    policy = on("002").file("/etc/logrotate.d/upkeep-knowledge-hub").content_string
    assert "daily" in policy and "rotate 7" in policy


def test_002_monthly_security_audit_permissions_environment_files_vulnerabilities():
    assert summaries("002", "monthly", "security_private_file") == ["mode 0644 is more open than 0600"]
    [review] = entries("002", "monthly", "security_review")
    assert review["metrics"]["placeholders"] == 0
    assert [entry["target"] for entry in entries("002", "monthly", "dependency_inventory")] == ["/srv/hub"]


def test_002_quarterly_recovery_test_restores_a_backup_and_queries_it():
    drills = [entry for entry in entries("002", "quarterly") if "knowledge-hub" in entry["target"]]
    assert drills and all(entry["status"] == "ok" for entry in drills), drills
    assert any("restore" in entry["summary"] for entry in drills), [entry["summary"] for entry in drills]


# 003: a Docker Compose stack with PostgreSQL.

def test_003_daily_every_service_up_and_healthy_without_restart_loop():
    [health] = entries("003", "daily", "host_health")
    assert "3/3 containers up, 1/1 endpoints ok" in health["summary"]
    assert all(container["restarts"] == 0 for container in health["details"]["containers"])


def test_003_daily_docker_cleanup():
    [pruned] = entries("003", "daily", "docker_prune")
    assert pruned["status"] in ("ok", "changed") and "bytes_reclaimed" in pruned["metrics"]


def test_003_weekly_backup_verification_vacuum_analyze_system_updates_configuration_audit():
    assert entries("003", "weekly", "updates_pending")
    written = summaries("003", "weekly", "backup_create", "changed")
    assert any(summary.startswith("backup written: /var/backups/upkeep/shop-db/shop-") for summary in written)
    assert any("backup-20" in entry["summary"] and entry["status"] == "ok" for entry in entries("003", "weekly", "backup_verify"))
    assert [entry["target"] for entry in entries("003", "weekly", "security_placeholder")] == [
        "/opt/stack/.env:GRAFANA_ADMIN_PASSWORD"]
    assert entries("003", "weekly", "postgresql_vacuum")


def test_003_monthly_unused_images_restore_test_backup_retention():
    verified = [entry for entry in entries("003", "monthly", "backup_verify") if "shop-db" in entry["target"]]
    assert verified and "restore" in verified[0]["summary"], verified
    folders = [entry for entry in entries("003", "monthly", "prune") if entry["target"].startswith("/opt/stack/backups")]
    assert folders and folders[0]["summary"].startswith("deleted 2 of 12 "), folders
    assert entries("003", "monthly", "docker_prune")
    assert not on("003").file("/opt/stack/backups/backup-%s" % on("003").check_output(
        "date -u -d '-120 days' +%Y%m%d")).exists


# 004: a SQLite work-order system under systemd.

ORDERS_DB = "/srv/orders/data/orders.db"


def test_004_pre_checks_window_latest_backup_disk_load():
    [opened] = [entry for entry in entries("004", "weekly", "maintenance_window") if "opened" in entry["summary"]]
    assert "closes by" in opened["summary"]
    assert entries("004", "weekly", "backup_verify")


def test_004_saturday_window_that_cannot_overrun_its_deadline():
    overrun = report("weekly-overrun")
    assert overrun["hosts"] == [HOSTS["004"]]
    [deadline] = [entry for entry in overrun["entries"] if entry["check"] == "window_deadline"]
    assert deadline["status"] == "warning" and "the steps not started by then were skipped" in deadline["summary"]
    assert "security_review" not in set(entry["check"] for entry in overrun["entries"])
    assert recap("weekly-overrun")[HOSTS["004"]]["failed"] == 0
    host = on("004")
    assert not host.file("/var/www/maintenance.flag").exists
    assert host.run("/etc/init.d/orders status").rc == 0


def test_004_backup_integrity_vacuum_analyze_reindex_wal():
    vacuumed = summaries("004", "weekly", "sqlite_vacuum")
    assert any(summary.startswith("VACUUM reclaimed") and "indexes rebuilt" in summary for summary in vacuumed)
    for database in (ORDERS_DB, "/srv/orders/data/sessions.db"):
        assert sqlite("004", database, "PRAGMA journal_mode") == "wal"
        assert sqlite("004", database, "PRAGMA integrity_check") == "ok"
    assert sqlite("004", ORDERS_DB, "SELECT count(*) FROM orders") == "2000"


def test_004_errors_of_the_week_above_100_logs_compressed_after_7_archived_after_30_deleted_after_90():
    [errors] = summaries("004", "weekly", "log_errors", "warning")
    assert errors.startswith("150 matching lines in 7 d (warning above 100, critical above 1000)")
    assert "/srv/orders/logs/backend.log" in on("004").file("/etc/logrotate.d/upkeep-orders").content_string
    host = on("004")
    assert host.file("/srv/orders/logs/errors/errors-10.jsonl.gz").exists
    archived = host.check_output("cd /srv/orders/logs/errors/archive && ls */")
    assert "errors-40.jsonl.gz" in archived and "errors-100" not in archived
    assert host.file("/srv/orders/logs/errors/errors-today.jsonl").exists


def test_004_failed_logins_permissions_secrets():
    [review] = entries("004", "weekly", "security_review")
    assert review["metrics"]["failed_logins"] == 3
    assert sorted(entry["target"] for entry in entries("004", "weekly", "security_private_file")) == [
        "/srv/orders/data/orders.db", "/srv/orders/data/sessions.db"]


def test_004_daily_checks_inside_the_window():
    inside = entries("004", "daily-in-window")
    assert [entry for entry in inside if entry["status"] == "critical"] == []
    [window] = [entry for entry in inside if entry["check"] == "window_open"]
    assert window["status"] == "ok" and "orders" in window["details"]["expected"]
    down = entries("004", "daily-in-window-nginx-down")
    assert [(entry["target"], entry["status"]) for entry in down if entry["check"] == "health_service"] == [("nginx", "critical")]
    assert [entry["status"] for entry in down if entry["check"] == "window_open"] == ["ok"]
    assert summaries("004", "window-close", "maintenance_window")[0].startswith("manual window closed")


def test_004_monthly_dependency_audit():
    audited = [entry["target"] for entry in entries("004", "monthly", "dependency_inventory")]
    assert audited == ["/srv/orders/backend, /srv/orders/frontend"], audited


def test_004_backup_retention_report_and_rollback_on_failure():
    assert [item["services"] for item in report("weekly")["downtime"] if item["host"] == HOSTS["004"]] == [["orders"]]
    assert report("weekly")["next_windows"][HOSTS["004"]][11:] in ("00:00:00Z", "01:00:00Z")
    kept = [entry for entry in entries("004", "monthly", "prune") if "orders-db" in entry["target"]]
    assert kept and kept[0]["status"] == "ok"
    sizes = report("weekly-again")["changes"]["sizes"]
    assert any(item["host"] == HOSTS["004"] and item["target"] == ORDERS_DB for item in sizes)
    # The window whose application did not answer after the work put the databases and the configuration folder back.
    [rollback] = entries("004", "weekly-rollback", "window_rollback")
    assert "did not answer" in rollback["details"]["failure"], rollback["details"]["failure"]
    assert "the host did not come back" in rollback["summary"]
    # Left in maintenance until the operator closed it by hand.
    assert summaries("004", "window-close-after-rollback", "maintenance_window")[0].startswith("weekly window closed")
    assert ORDERS_DB in rollback["details"]["restored"] and "/etc/orders" in rollback["details"]["restored"]
    assert recap("weekly-rollback")[HOSTS["004"]]["failed"] == 1
    assert on("004").file("/etc/orders/orders.yml").content_string == "listen: 127.0.0.1:8080\n"


def test_the_weeklies_leave_004_only_the_copies_of_its_databases_its_retention_keeps():
    copies = on("004").check_output("ls /var/backups/upkeep/sqlite/srv_orders_data_orders.db/ | grep -c '^orders-.*\\.db$'")
    assert int(copies) <= 2
    pruned = [entry for run in ("weekly-again", "weekly-concurrent-first", "weekly-overrun")
              for entry in entries("004", run, "prune") if "srv_orders_data_orders.db" in entry["target"]]
    assert sum(entry["metrics"]["files_pruned"] for entry in pruned) >= 1, pruned
