"""Scheduling: one calendar run at the same moments by cron (croniter, the entry's guard run by the shell), systemd
(systemd-analyze) and AWX (dateutil's RRULE); the AWX playbook's syntax and the
execution environment's build context, made offline by ansible-builder."""

import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import zoneinfo

import pytest
import yaml
from ansible_collections.upkeep.maintenance.plugins.filter.schedules import calendar, next_run, overlapping_windows
from croniter import croniter
from dateutil.rrule import rrulestr

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


def load(*path):
    with open(os.path.join(ROOT, *path)) as handle:
        return yaml.safe_load(handle)


FIELDS = ("minute", "hour", "day", "month", "weekday")
# Calendars the runbooks ask for, with what each means said plainly.
CALENDARS = {
    "first Saturday of the month at 02:00": (dict(weekday="sat", week_of_month=1, hour=2),
                                             lambda at: at.weekday() == 5 and at.day <= 7 and (at.hour, at.minute) == (2, 0)),
    "the 1st of the month at 03:30": (dict(day=1, hour=3, minute=30), lambda at: at.day == 1 and (at.hour, at.minute) == (3, 30)),
    "Sunday at 02:00": (dict(weekday=0, hour=2), lambda at: at.weekday() == 6 and (at.hour, at.minute) == (2, 0)),
    "every five minutes": (dict(minute="*/5", playbook="upkeep.maintenance.pulse"), lambda at: at.minute % 5 == 0),
    "working days, 09:00 to 17:50 every ten minutes": (
        dict(minute="0-50/10", hour="9-17", weekday="mon-fri"), lambda at: at.weekday() < 5 and 9 <= at.hour <= 17 and at.minute % 10 == 0),
    "the 13th when it is a Friday, at noon": (dict(day=13, weekday="fri", hour=12), lambda at: at.day == 13 and at.weekday() == 4),
    # Local times: the moments are UTC ones, an hour or two from the local time as the zone's summer time says.
    "Saturday at 02:00 in Berlin": (dict(weekday="sat", hour=2, timezone="Europe/Berlin"),
                                    lambda at: at.weekday() in (4, 5) and at.hour in (0, 1)),
    "every day at 09:30 in New York": (dict(hour=9, minute=30, timezone="America/New_York"),
                                       lambda at: at.hour in (13, 14) and at.minute == 30),
    "the first Saturday at 10:00 in Kolkata": (dict(weekday="sat", week_of_month=1, hour=10, timezone="Asia/Kolkata"),
                                               lambda at: (at.hour, at.minute) == (4, 30)),
}
# Each calendar from a moment in late November and from one that crosses the change to summer time in March 2027.
STARTS = (datetime.datetime(2026, 11, 25, 21, 37), datetime.datetime(2027, 3, 20, 21, 37))
for _name, _calendar in list(load("roles", "schedule", "defaults", "main.yml")["schedule_runs"].items()):
    CALENDARS["the schedule role's " + _name] = (_calendar, None)


def rrule_times(converted, after, count):
    """When AWX runs the schedule, in UTC: dateutil's expansion of the RRULE from a DTSTART in the calendar's zone."""
    rule = rrulestr("DTSTART;TZID=%s:20260101T000000\n%s" % (converted["timezone"], converted["rrule"]))
    times, moment = [], after.replace(tzinfo=datetime.timezone.utc)
    while len(times) < count:
        moment = rule.after(moment)
        times.append(moment.astimezone(datetime.timezone.utc).replace(tzinfo=None))
    return times


def cron_times(converted, after, count):
    """When cron runs the entry: croniter's expansion of its fields, each run going on only if its guard, run by the
    shell with the date of that moment, lets it."""
    entry = croniter(" ".join(converted["cron"][field] for field in FIELDS), after)
    guard = converted["cron_guard"].replace("\\%", "%")
    times = []
    while len(times) < count:
        moment = entry.get_next(datetime.datetime)
        epoch = int(moment.replace(tzinfo=datetime.timezone.utc).timestamp())
        script = 'date() { command date -d @%d "$@"; }; %strue' % (epoch, guard)
        if not guard or subprocess.run(["sh", "-c", script], env=dict(os.environ, TZ="UTC"), check=False).returncode == 0:
            times.append(moment)
    return times


def systemd_times(converted, count):
    process = subprocess.run(["systemd-analyze", "calendar", "--iterations", str(count), converted["on_calendar"]],
                             capture_output=True, text=True, check=True, env=dict(os.environ, TZ="UTC"))
    return [datetime.datetime.strptime(found, "%Y-%m-%d %H:%M:%S") for found in
            re.findall(r"(?:Next elapse|Iter\. #\d+): \w{3} (\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})", process.stdout)]


@pytest.mark.parametrize("name", sorted(CALENDARS))
def test_cron_systemd_and_awx_run_a_calendar_at_the_same_moments(name):
    spec, meaning = CALENDARS[name]
    converted = calendar(spec)
    for start in STARTS:
        awx = rrule_times(converted, start, 12)
        assert cron_times(converted, start, 12) == awx, converted["cron"]
        if meaning:
            assert all(meaning(moment) for moment in awx), awx
    if shutil.which("systemd-analyze"):
        elapses = systemd_times(converted, 12)
        assert elapses == rrule_times(converted, elapses[0] - datetime.timedelta(seconds=1), 12), converted["on_calendar"]


@pytest.mark.parametrize("spec, message", [
    (dict(hour=24), "outside 0-23"), (dict(weekday="someday"), "neither a number nor a name"),
    (dict(minute="*/0"), "positive"), (dict(week_of_month=1, day=3), "replaces day"), (dict(hours=2), "unknown fields: hours"),
])
def test_a_calendar_that_cannot_be_is_refused_with_its_reason(spec, message):
    from ansible.errors import AnsibleFilterError
    with pytest.raises(AnsibleFilterError, match=message):
        calendar(spec)


def test_awx_and_the_schedule_role_share_the_calendars_and_awx_starts_them_in_their_zone():
    play = load("playbooks", "awx_setup.yml")[0]
    assert play["vars"]["awx_runs"] == load("roles", "schedule", "defaults", "main.yml")["schedule_runs"]
    schedule = [task for task in load("playbooks", "tasks", "awx_objects.yml") if task["name"] == "A schedule per run"][0]
    assert schedule["awx.awx.schedule"]["rrule"].startswith("DTSTART;TZID={{ __awx_calendar.timezone }}:{{ awx_start }} ")


def test_the_awx_playbook_is_valid(collections_path):
    process = subprocess.run([os.path.join(BIN, "ansible-playbook"), "--syntax-check", "-i", "localhost,",
                              os.path.join(ROOT, "playbooks", "awx_setup.yml")], capture_output=True, text=True,
                             check=False, env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path))
    assert process.returncode == 0, process.stdout + process.stderr


def test_the_execution_environment_build_context_is_made_offline(tmp_path):
    with open(os.path.join(ROOT, "galaxy.yml")) as handle:
        version = yaml.safe_load(handle)["version"]
    for name in ("execution-environment.yml", "meta/ee-collections.yml", "meta/ee-requirements.txt", "meta/ee-bindep.txt"):
        os.makedirs(str(tmp_path / os.path.dirname(name)), exist_ok=True)
        shutil.copy(os.path.join(ROOT, name), str(tmp_path / name))
    build = subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", ROOT, "--output-path", str(tmp_path)],
                           capture_output=True, text=True, check=False)
    assert build.returncode == 0, build.stdout + build.stderr
    assert os.path.exists(str(tmp_path / ("upkeep-maintenance-%s.tar.gz" % version)))

    create = subprocess.run([os.path.join(BIN, "ansible-builder"), "create", "-f", str(tmp_path / "execution-environment.yml"),
                             "-c", str(tmp_path / "context"), "--output-filename", "Containerfile"],
                            capture_output=True, text=True, check=False)
    assert create.returncode == 0, create.stdout + create.stderr
    containerfile = (tmp_path / "context" / "Containerfile").read_text()
    assert "quay.io/ansible/awx-ee" in containerfile and "upkeep-maintenance-%s.tar.gz" % version in containerfile
    assert (tmp_path / "context" / "_build" / "collections" / ("upkeep-maintenance-%s.tar.gz" % version)).exists()
    assert "psycopg" in (tmp_path / "context" / "_build" / "requirements.txt").read_text()


SYSTEMS = {"monorepo": "dev1.example.com", "pg_app": "db1.example.com", "knowledge_hub": "hub1.example.com",
           "compose_stacks": "stack1.example.com", "work_orders": "orders1.example.com"}


def example_inventory():
    process = subprocess.run([os.path.join(BIN, "ansible-inventory"), "-i", os.path.join(ROOT, "inventories", "example"),
                              "--list", "-e", "vault_postgresql_maintenance_password=x"], capture_output=True, text=True,
                             check=True)
    return json.loads(process.stdout)


def hosts_of(inventory, group):
    found = set(inventory.get(group, {}).get("hosts", []))
    for child in inventory.get(group, {}).get("children", []):
        found |= set(hosts_of(inventory, child))
    return sorted(found)


def test_the_example_inventory_holds_the_five_systems_in_the_playbooks_groups():
    inventory = example_inventory()
    assert dict((system, hosts_of(inventory, system)) for system in SYSTEMS) == dict(
        (system, [host]) for system, host in SYSTEMS.items())
    groups = dict((name, hosts_of(inventory, name)) for name in ("sqlite_apps", "postgresql_servers", "web", "dev"))
    assert groups == {"sqlite_apps": ["dev1.example.com", "hub1.example.com", "orders1.example.com"],
                      "postgresql_servers": ["db1.example.com", "stack1.example.com"],
                      "web": ["db1.example.com", "orders1.example.com"], "dev": ["dev1.example.com"]}
    hostvars = inventory["_meta"]["hostvars"]
    host = hostvars["orders1.example.com"]
    assert host["sqlite_databases"][0]["path"] == "/srv/orders/data/orders.db"
    assert host["certificates_endpoints_from"] == "controller" and host["sqlite_journal_mode"] == "wal"
    assert hostvars["hub1.example.com"]["health_disk_warning"] == 80
    assert hostvars["dev1.example.com"]["sqlite_databases"][0]["retention"][0]["age"] == "90d"
    # Each PostgreSQL host keeps its own databases and backup sets: the groups they share do not mix them.
    assert [item["name"] for item in hostvars["db1.example.com"]["backups_sets"]] == ["app-pg"]
    assert [item["name"] for item in hostvars["stack1.example.com"]["backups_sets"]] == ["shop-db", "uploads", "nightly"]
    assert hostvars["stack1.example.com"]["postgresql_databases"] == [{"db": "shop"}]


def test_each_system_runs_daily_and_weekly_on_its_own_calendar_from_the_control_host():
    inventory = example_inventory()
    runs = inventory["_meta"]["hostvars"]["control.example.com"]["schedule_runs"]
    limited = {}
    for name, run in runs.items():
        calendar(run)
        if "limit" in run:
            assert hosts_of(inventory, run["limit"]), (name, run["limit"])
            limited.setdefault(run["limit"], set()).add(run["playbook"].split(".")[-1])
    assert sorted(limited) == sorted(SYSTEMS)
    assert all({"daily", "weekly"} <= playbooks for playbooks in limited.values()), limited
    # The runbooks' calendars, as cron would run them, in the teams' local time through summer time: 002's monthly on
    # the first Saturday at 10:00, 004's weekly on Saturdays at 02:00.
    start = datetime.datetime(2026, 11, 25)
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")

    def local(moments):
        return [moment.replace(tzinfo=datetime.timezone.utc).astimezone(berlin) for moment in moments]

    assert all(moment.weekday() == 5 and moment.day <= 7 and (moment.hour, moment.minute) == (10, 0)
               for moment in local(cron_times(calendar(runs["monthly-hub"]), start, 8)))
    assert all(moment.weekday() == 5 and (moment.hour, moment.minute) == (2, 0)
               for moment in local(cron_times(calendar(runs["weekly-orders"]), start, 30)))
    assert cron_times(calendar(runs["pulse"]), start, 3) == [start + datetime.timedelta(minutes=5 * n) for n in (1, 2, 3)]
    # No two windows of a host overlap, by each host's window_max_duration.
    groups = dict((name, hosts_of(inventory, name)) for name in list(inventory) if name != "_meta")
    assert overlapping_windows(runs, groups, inventory["_meta"]["hostvars"], "2h") == []


def test_the_execution_environment_carries_the_ansible_core_the_collection_requires():
    with open(os.path.join(ROOT, "execution-environment.yml")) as handle:
        wanted = yaml.safe_load(handle)["dependencies"]["ansible_core"]["package_pip"]
    with open(os.path.join(ROOT, "meta", "runtime.yml")) as handle:
        required = yaml.safe_load(handle)["requires_ansible"]
    assert wanted == "ansible-core" + required


@pytest.mark.parametrize("name", sorted(CALENDARS))
def test_the_next_run_of_a_calendar_is_the_one_awx_and_cron_find(name):
    spec = CALENDARS[name][0]
    converted = calendar(spec)
    for after in (datetime.datetime(2026, 11, 25, 21, 37, 30), datetime.datetime(2026, 12, 31, 23, 59),
                  datetime.datetime(2027, 2, 28, 12, 0), datetime.datetime(2028, 2, 28, 23, 58)):
        expected = rrule_times(converted, after, 1)[0]
        assert next_run(spec, after.strftime("%Y-%m-%dT%H:%M:%SZ")) == expected.strftime("%Y-%m-%dT%H:%M:%SZ"), after


def test_calendars_whose_windows_overlap_on_a_host_are_refused_naming_both():
    groups = dict(all=["orders1", "db1"], work_orders=["orders1"], pg_app=["db1"])
    hostvars = dict(orders1=dict(window_max_duration="4h"))
    runs = {"weekly-orders": dict(weekday="sat", hour=2, playbook="upkeep.maintenance.weekly", limit="work_orders"),
            "monthly-orders": dict(weekday="sat", week_of_month=1, hour=2, minute=30, playbook="upkeep.maintenance.monthly",
                                   limit="work_orders"),
            "monthly-pg-app": dict(weekday="sat", week_of_month=1, hour=2, playbook="upkeep.maintenance.monthly",
                                   limit="pg_app"),
            "daily-orders": dict(hour=5, playbook="upkeep.maintenance.daily", limit="work_orders")}
    assert overlapping_windows(runs, groups, hostvars, "2h", "2026-12-01T00:00:00Z") == [
        "the windows of monthly-orders and weekly-orders overlap on orders1, first at 2026-12-05 02:30 and 2026-12-05 02:00 "
        "(UTC): move one, or make them shorter (window_max_duration)"]
    # The monthly on the first Sunday instead: the weekly's four hours end before it.
    runs["monthly-orders"].update(weekday="sun")
    assert overlapping_windows(runs, groups, hostvars, "2h", "2026-12-01T00:00:00Z") == []
    # Runbook 001: the weekly window lasts an hour, the monthly three; the monthly's first Sunday replaces a weekly.
    pg_app = dict(db1=dict(window_max_duration=dict(weekly="1h", monthly="3h")))
    both = {"weekly-pg-app": dict(weekday="sun", hour=3, limit="pg_app"),
            "monthly-pg-app": dict(weekday="sun", week_of_month=1, hour=2, limit="pg_app",
                                   playbook="upkeep.maintenance.monthly")}
    both["weekly-pg-app"]["playbook"] = "upkeep.maintenance.weekly"
    assert overlapping_windows(both, groups, pg_app, "2h", "2026-12-01T00:00:00Z")[0].startswith(
        "the windows of monthly-pg-app and weekly-pg-app overlap on db1, first at 2026-12-06 02:00 and 2026-12-06 03:00")
    both["weekly-pg-app"]["day"] = "8-31"
    assert overlapping_windows(both, groups, pg_app, "2h", "2026-12-01T00:00:00Z") == []
    # A weekly in Berlin's time and a monthly in UTC an hour apart: they clash in winter, when Berlin is UTC+1.
    apart = {"weekly": dict(weekday="sun", hour=3, timezone="Europe/Berlin"), "monthly": dict(weekday="sun", hour=2)}
    assert overlapping_windows(apart, dict(all=["db1"]), {}, "2h", "2026-12-01T00:00:00Z")[0].startswith(
        "the windows of monthly and weekly overlap on db1")


def test_the_schedule_roles_own_calendars_do_not_overlap():
    runs = load("roles", "schedule", "defaults", "main.yml")["schedule_runs"]
    assert overlapping_windows(runs, dict(all=["app1"]), {}, "2h") == []
