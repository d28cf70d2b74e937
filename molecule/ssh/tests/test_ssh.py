"""What the calendar run over SSH from the execution environment leaves behind: every playbook ran with -b as deploy,
the controller's user never needed sudo, PostgreSQL was maintained as postgres on the host without acl as on the
other, the host whose database broke was rolled back, and ansible-runner ran the daily as AWX runs a job."""

import glob
import json
import os
import re

import pytest
import testinfra

EPHEMERAL = os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]
HOSTS = ["upkeep-ssh-acl", "upkeep-ssh-noacl"]


def on(name):
    return testinfra.get_host("docker://" + name)


def output(run):
    with open(os.path.join(EPHEMERAL, run + ".log")) as handle:
        return handle.read()


def recap(run):
    return dict((host, dict((key, int(value)) for key, value in re.findall(r"(\w+)=(\d+)", counts)))
                for host, counts in re.findall(r"^(upkeep-ssh-\w+)\s+: (ok=.*)$", output(run), re.MULTILINE))


def reports(playbook):
    """The reports of a playbook written on the controller, oldest first."""
    found = []
    for path in sorted(glob.glob(os.path.join(EPHEMERAL, "reports", playbook + "-*.json"))):
        with open(path) as handle:
            found.append(json.load(handle))
    return found


def entries(report, check, host=None):
    return [entry for entry in report["entries"] if entry["check"] == check and host in (None, entry["host"])]


def test_the_controller_user_is_not_root_and_has_no_sudo():
    controller = on("upkeep-ssh-ee")
    assert controller.user("runner").uid == 1000
    assert controller.run("runuser -u runner -- sudo -n true").rc != 0


def test_the_hosts_are_reached_as_deploy_and_one_has_no_acl():
    for name in HOSTS:
        assert on(name).user("deploy").exists and on(name).process.filter(comm="sshd")
    assert on("upkeep-ssh-acl").exists("setfacl") and not on("upkeep-ssh-noacl").exists("setfacl")


@pytest.mark.parametrize("run", ["daily", "weekly", "monthly"])
def test_each_playbook_ran_over_ssh_with_become_and_wrote_its_report(run):
    counts = recap(run)
    assert sorted(counts) == HOSTS
    assert all(figures["failed"] == 0 and figures["unreachable"] == 0 for figures in counts.values()), counts
    assert "password is required" not in output(run)
    report = reports(run)[0]
    assert report["hosts_not_reached"] == [] and sorted(set(entry["host"] for entry in report["entries"])) == HOSTS


def test_the_reports_are_the_controller_users_and_the_metrics_roots():
    controller = on("upkeep-ssh-ee")
    owners = controller.check_output("stat -c %U /home/runner/reports/*.json").split()
    assert owners and set(owners) == {"runner"}
    for name in HOSTS:
        metrics = on(name).file("/var/lib/prometheus/node-exporter/upkeep_weekly.prom")
        assert metrics.exists and metrics.user == "root"


@pytest.mark.parametrize("name", HOSTS)
def test_postgresql_is_maintained_as_postgres_with_or_without_acl(name):
    # The daily vacuums the tables whose dead tuples pass the thresholds; the weekly finds them done.
    vacuums = [entries(reports(run)[0], "postgresql_vacuum", name) for run in ("daily", "weekly")]
    assert [set(entry["status"] for entry in found) for found in vacuums] == [{"changed"}, {"ok"}], vacuums
    host = on(name)
    vacuumed = host.check_output(
        "runuser -u postgres -- psql -X -At -d app -c \"SELECT last_vacuum IS NOT NULL FROM pg_stat_user_tables "
        "WHERE relname = 'orders'\"")
    assert vacuumed == "t"
    dumps = host.check_output("find /var/backups/upkeep/app-pg -name '*.dump' -user postgres").split()
    assert dumps, "no dump written as postgres"
    [monthly] = reports("monthly")
    restored = entries(monthly, "backup_verify", name)
    assert [(entry["target"], entry["status"]) for entry in restored] == [("/var/backups/upkeep/app-pg/app-*.dump", "ok")]
    assert "restore_test ok" in restored[0]["summary"]


def test_the_host_whose_database_broke_was_rolled_back_and_the_other_maintained():
    counts = recap("weekly-rollback")
    assert counts["upkeep-ssh-acl"]["failed"] == 1 and counts["upkeep-ssh-acl"]["rescued"] == 1
    assert counts["upkeep-ssh-noacl"]["failed"] == 0
    report = reports("weekly")[-1]
    [rollback] = entries(report, "window_rollback")
    assert rollback["host"] == "upkeep-ssh-acl" and rollback["status"] == "critical"
    assert "rolled back: restored /srv/app/data/app.db" in rollback["summary"]
    host = on("upkeep-ssh-acl")
    rows = host.check_output("sqlite3 /srv/app/data/app.db 'SELECT count(*) FROM items'")
    assert rows == host.file("/srv/app/rows-before-fault").content_string.strip()
    assert host.run("curl -fsS http://localhost/").rc == 0


def test_ansible_runner_ran_the_daily_as_an_awx_job():
    controller = on("upkeep-ssh-ee")
    assert controller.file("/runner/artifacts/daily/status").content_string.strip() == "successful"
    assert controller.file("/runner/artifacts/daily/rc").content_string.strip() == "0"
    counts = recap("runner-daily")
    assert sorted(counts) == HOSTS and all(figures["failed"] == 0 for figures in counts.values()), counts
    # The machine credential's key went through an ssh-agent, as AWX hands it over.
    assert "ssh-agent" in controller.file("/runner/artifacts/daily/command").content_string
    assert len(reports("daily")) == 2
