"""The playbooks on the demo estate of `make demo` (a corrupt and a bloated database, certificates about to expire
and expired, a stopped backup job, old logs, an open secrets file): a preview with --check changes nothing and
plans what the real run then does, with the same exit code; a second weekly run changes nothing."""

import glob
import hashlib
import json
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SUMMARY_LINE = re.compile(r'"localhost (CHANGED|WARNING|CRITICAL|FAILED) +(\S+) (.+?): ')
# Readings of the machine at the moment, not of the estate: a preview cannot plan them, and the load of a busy test
# machine crosses its threshold between two runs.
MOMENT_CHECKS = ("health_load", "health_memory")


@pytest.fixture
def demo(demo_estate):
    return demo_estate


def run(demo, collections_path, playbook, *options):
    process = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "upkeep.maintenance." + playbook,
         "-i", "inventories/demo", "-e", '{"report_print_summary": true}'] + list(options),
        capture_output=True, text=True, cwd=str(demo), check=False,
        env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path, ANSIBLE_NOCOLOR="1",
                 ANSIBLE_CALLBACK_RESULT_FORMAT="json"))
    recap = dict((key, int(value)) for key, value in re.findall(
        r"(\w+)=(\d+)", re.search(r"^localhost\s+: (.*)$", process.stdout, re.M).group(1)))
    # What the run did and found, from its summary: the statuses other than ok, by check and target.
    found = set(line for line in SUMMARY_LINE.findall(process.stdout) if line[1] not in MOMENT_CHECKS)
    return process, recap, found


def state(folder):
    """Every path of the estate with its kind, mode and content."""
    seen = {}
    for base, folders, files in os.walk(str(folder)):
        for name in folders + files:
            path = os.path.join(base, name)
            info = os.lstat(path)
            digest = None
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path, "rb") as handle:
                    digest = hashlib.sha256(handle.read()).hexdigest()
            seen[os.path.relpath(path, str(folder))] = (info.st_mode, digest, os.readlink(path) if os.path.islink(path) else None)
    return seen


@pytest.mark.parametrize("playbook", ["daily", "weekly", "monthly", "quarterly"])
def test_check_mode_changes_nothing_and_plans_what_the_run_does(demo, collections_path, playbook):
    before = state(demo / ".demo")
    preview, preview_recap, planned = run(demo, collections_path, playbook, "--check")
    assert preview.returncode == 0, preview.stdout[-4000:]
    assert preview_recap["failed"] == 0 and preview_recap["rescued"] == 0
    assert state(demo / ".demo") == before, "check mode changed the estate"

    real, real_recap, done = run(demo, collections_path, playbook)
    assert real.returncode == preview.returncode, real.stdout[-4000:]
    assert planned == done
    assert any(status == "CHANGED" for status, _check, _target in done) == (playbook in ("weekly", "monthly"))

    if playbook == "weekly":
        again, again_recap, _found = run(demo, collections_path, playbook)
        assert again.returncode == 0 and again_recap["changed"] == 0, again.stdout[-4000:]


def test_the_daily_validates_every_role_s_settings_before_any_check(demo, collections_path):
    process, recap, _found = run(demo, collections_path, "daily", "-e", "health_disk_warning=lots",
                                 "-e", '{"sqlite_databases": "/srv/app.db"}')
    assert process.returncode == 2 and recap["ok"] == 0 and recap["failed"] == 1, process.stdout[-3000:]
    assert "Validation of arguments failed" in process.stdout
    assert "health_disk_warning" in process.stdout and "sqlite_databases" in process.stdout
    assert not glob.glob(str(demo / ".demo" / "reports" / "daily-*.json")), "a check ran before the settings were valid"


def latest_report(demo, run_name):
    [path] = sorted(glob.glob(str(demo / ".demo" / "reports" / ("%s-*.json" % run_name))))[-1:]
    with open(path) as handle:
        return json.load(handle)


# The weekly's steps in their order, each by a check that only it reports on the demo estate.
WEEKLY_STEPS = ["backup_freshness", "sqlite_integrity", "cert_expiry", "security_review"]


@pytest.mark.parametrize("on_deadline", ["close", "rollback"])
def test_a_window_past_its_deadline_starts_no_more_work_and_closes_or_rolls_back(demo, collections_path, on_deadline):
    # Deadlines are whole seconds: three seconds leave two to three after the opening. The backups, the first step,
    # start well within them; the security review, the last, starts more than six seconds of steps later.
    process, recap, _found = run(demo, collections_path, "weekly", "-e",
                                 '{"window_max_duration": "3s", "window_on_deadline": "%s"}' % on_deadline)
    report = latest_report(demo, "weekly")
    checks = set(entry["check"] for entry in report["entries"])
    done = [step in checks for step in WEEKLY_STEPS]
    assert done[0] and not done[-1], checks
    assert done == sorted(done, reverse=True), "a step ran after one skipped past the deadline: %s" % checks
    assert not os.path.exists(str(demo / ".demo" / "www" / "maintenance.flag")), "the window did not close"
    assert not os.path.exists(str(demo / ".demo" / "state" / "maintenance-window.json"))
    if on_deadline == "close":
        assert process.returncode == 0 and recap["failed"] == 0, process.stdout[-4000:]
        [deadline] = [entry for entry in report["entries"] if entry["check"] == "window_deadline"]
        assert deadline["status"] == "warning" and "the steps not started by then were skipped" in deadline["summary"]
    else:
        assert process.returncode == 2 and recap["rescued"] == 1, process.stdout[-4000:]
        [rollback] = [entry for entry in report["entries"] if entry["check"] == "window_rollback"]
        assert rollback["status"] == "critical" and "passed its deadline" in rollback["summary"]


def test_a_window_opened_by_hand_says_why_and_closing_it_reports_the_downtime(demo, collections_path):
    flag = demo / ".demo" / "www" / "maintenance.flag"
    opened, recap, _found = run(demo, collections_path, "window_open", "-e", "window_reason='disk swap'")
    assert opened.returncode == 0 and recap["failed"] == 0, opened.stdout[-3000:]
    assert flag.exists()
    with open(str(demo / ".demo" / "state" / "maintenance-window.json")) as handle:
        assert json.load(handle)["reason"] == "disk swap"
    [entry] = [entry for entry in latest_report(demo, "window-open")["entries"] if entry["check"] == "maintenance_window"]
    assert "reason: disk swap" in entry["summary"]

    closed, recap, _found = run(demo, collections_path, "window_close")
    assert closed.returncode == 0 and recap["failed"] == 0, closed.stdout[-3000:]
    assert not flag.exists()
    [entry] = [entry for entry in latest_report(demo, "window-close")["entries"] if entry["check"] == "maintenance_window"]
    assert entry["details"]["reason"] == "disk swap" and entry["details"]["opened"] <= entry["details"]["closed"]
    assert "open for" in entry["summary"]


def test_without_a_reason_no_window_opens_by_hand(demo, collections_path):
    refused, _recap, _found = run(demo, collections_path, "window_open")
    assert refused.returncode == 2 and "say why the window is opened" in refused.stdout
    assert not (demo / ".demo" / "www" / "maintenance.flag").exists()


def test_a_database_goes_back_to_the_backup_chosen_and_check_mode_says_which(demo, collections_path, make_estate):
    inventory_db = demo / ".demo" / "data" / "inventory.db"
    folder = demo / ".demo" / "backups" / "inventory"
    older = sorted(name for name in os.listdir(str(folder)) if name.endswith(".db"))[0]
    stamp = older[len("inventory-"):-len(".db")]
    before = make_estate.sha256(str(inventory_db))

    preview, recap, _found = run(demo, collections_path, "restore", "--check", "-e", "restore_database=%s" % inventory_db,
                                 "-e", "restore_backup=%s" % stamp)
    assert preview.returncode == 0 and recap["failed"] == 0, preview.stdout[-3000:]
    assert "would restore %s from %s" % (inventory_db, folder / older) in preview.stdout
    assert make_estate.sha256(str(inventory_db)) == before

    restored, recap, _found = run(demo, collections_path, "restore", "-e", "restore_database=%s" % inventory_db,
                                  "-e", "restore_backup=%s" % stamp)
    assert restored.returncode == 0 and recap["failed"] == 0, restored.stdout[-3000:]
    assert make_estate.sha256(str(inventory_db)) == make_estate.sha256(str(folder / older))
    kept = [name for name in os.listdir(str(inventory_db.parent)) if name.startswith("inventory.db.replaced-")]
    assert len(kept) == 1 and make_estate.sha256(str(inventory_db.parent / kept[0])) == before
    [entry] = [entry for entry in latest_report(demo, "restore")["entries"] if entry["check"] == "sqlite_restore"]
    assert entry["status"] == "changed" and entry["details"]["backup"] == str(folder / older)
