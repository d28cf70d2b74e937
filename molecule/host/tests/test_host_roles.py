"""What the health, logs and cleanup roles leave behind and report."""

import glob
import json
import os


def entries(host, run):
    reports = sorted(glob.glob(os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "reports", run + "-*.json")))
    with open(reports[0]) as handle:
        return [entry for entry in json.load(handle)["entries"] if entry["host"] == host.backend.get_hostname()]


def test_the_daily_health_report(host):
    daily = entries(host, "daily")
    health = [entry for entry in daily if entry["check"] == "host_health"]
    assert len(health) == 1 and "1/1 services up, 2/2 endpoints ok" in health[0]["summary"], health
    [log] = [entry for entry in daily if entry["check"] == "log_errors"]
    # One entry for the logs the host lists, judged by their errors together, each log's count beside it.
    assert log["target"] == "/var/log/app/*.log" and log["status"] == "warning" and log["metrics"]["matches"] == 15
    assert log["details"]["files"] == [{"path": "/var/log/app/app.log", "matches": 15}]


def test_the_logrotate_policy_is_installed_and_valid(host):
    policy = host.file("/etc/logrotate.d/upkeep-app")
    assert policy.mode == 0o644 and "rotate 7" in policy.content_string and "create 0640 root adm" in policy.content_string
    assert host.run("logrotate -d /etc/logrotate.d/upkeep-app").rc == 0


def test_old_rotated_logs_were_archived_and_the_oldest_deleted(host):
    assert sorted(name for name in host.file("/var/log/app").listdir() if name.endswith(".gz")) == [
        "app.log.15.gz", "app.log.25.gz", "app.log.5.gz"]
    archived = host.run("find /var/log/app/archive -name '*.gz' -printf '%f\\n'").stdout.split()
    assert sorted(archived) == ["app.log.35.gz", "app.log.45.gz"]


def test_old_temporary_files_were_deleted(host):
    assert not host.file("/tmp/old.tmp").exists and not host.file("/tmp/older.tmp").exists
    assert host.file("/tmp/fresh.tmp").exists


def test_the_security_update_was_applied_and_the_reboot_is_reported(host):
    assert host.package("upkeep-demo").version == "2.0"
    weekly = entries(host, "weekly")
    [applied] = [entry for entry in weekly if entry["check"] == "updates_applied"]
    assert applied["summary"] == "applied 1 security updates: upkeep-demo"
    [pending] = [entry for entry in weekly if entry["check"] == "updates_pending"]
    assert pending["status"] == "ok" and pending["metrics"] == {"updates": 0, "security_updates": 0}
    [reboot] = [entry for entry in weekly if entry["check"] == "reboot_required"]
    assert reboot["status"] == "warning" and reboot["summary"] == "a reboot is required by upkeep-demo"


def test_the_security_review_fixed_the_env_file_and_named_the_placeholder(host):
    assert host.file("/srv/app/.env").mode == 0o600
    monthly = json.dumps(entries(host, "monthly"))
    assert "t0k3n-kept-private" not in monthly
    # The weekly run fixed the mode; the monthly one, in the same ansible-playbook run, found nothing left to fix.
    weekly = dict(((entry["check"], entry["target"]), entry["status"]) for entry in entries(host, "weekly"))
    assert weekly[("security_private_file", "/srv/app/.env")] == "changed"
    findings = dict(((entry["check"], entry["target"]), entry["status"]) for entry in entries(host, "monthly"))
    assert ("security_private_file", "/srv/app/.env") not in findings
    assert findings[("security_placeholder", "/srv/app/.env:DB_PASSWORD")] == "critical"
    assert findings[("security_world_writable", "/srv/app")] == "warning"
    assert findings[("security_failed_logins", "/var/log/auth.log")] == "warning"


def test_node_exporter_metrics_of_each_run(host):
    metrics = host.file("/var/lib/prometheus/node-exporter/upkeep_weekly.prom")
    assert metrics.mode == 0o644
    content = metrics.content_string
    # The textfile holds the newest run: the idempotence run, which had nothing left to update.
    assert 'upkeep_maintenance_status{run="weekly",check="updates_pending"} 0' in content
    assert 'upkeep_findings{run="weekly",check="reboot_required",severity="warning"} 1' in content
    assert host.file("/var/lib/prometheus/node-exporter/upkeep_daily.prom").exists


def test_the_runs_are_scheduled_with_locks_and_logs(host):
    crontab = host.check_output("crontab -l -u root")
    assert ("0 3 * * * /usr/bin/flock --nonblock /run/lock/upkeep-daily.lock /usr/bin/ansible-playbook "
            "upkeep.maintenance.daily -i /etc/upkeep/inventory.yml >> /var/log/upkeep/daily.log 2>&1") in crontab
    assert "0 4 * * 0 /usr/bin/flock" in crontab
    assert "0 2 * * 0 date +\\%-d | grep -qxE '1|2|3|4|5|6|7' && /usr/bin/flock" in crontab
    assert "0 1 * 1,4,7,10 0 date" in crontab
    assert ("0,5,10,15,20,25,30,35,40,45,50,55 * * * * /usr/bin/flock --nonblock /run/lock/upkeep-pulse.lock "
            "/usr/bin/ansible-playbook upkeep.maintenance.pulse -i") in crontab
    assert host.file("/var/log/upkeep").is_directory


def test_the_monthly_dependency_audit_reports_the_known_vulnerabilities_with_their_fixes(host):
    monthly = entries(host, "monthly")
    vulnerabilities = dict((entry["target"].split(" ")[0], entry) for entry in monthly if entry["check"] == "dependency_vulnerability")
    assert sorted(vulnerabilities) == ["jinja2@2.10", "node-fetch@2.6.6", "qs@6.10.1", "requests@2.28.1"], sorted(vulnerabilities)
    assert vulnerabilities["qs@6.10.1"]["status"] == "critical" and "upgrade qs to 6.10.3" in vulnerabilities["qs@6.10.1"]["summary"]
    assert vulnerabilities["requests@2.28.1"]["details"]["ids"] == ["GHSA-j8r2-6x86-q33q", "PYSEC-2023-74"]
    assert "upgrade requests to 2.31.0" in vulnerabilities["requests@2.28.1"]["summary"]
    licenses = [entry["target"].split(" ")[0] for entry in monthly if entry["check"] == "dependency_license"]
    assert licenses == ["jinja2@2.10"]
