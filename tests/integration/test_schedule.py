"""Scheduling: the AWX schedules' RRULEs, the systemd calendars of the schedule role, the AWX playbook's syntax, and the
execution environment's build context, made offline by ansible-builder."""

import datetime
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml
from dateutil.rrule import rrulestr

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


def awx_schedules():
    with open(os.path.join(ROOT, "playbooks", "awx_setup.yml")) as handle:
        play = yaml.safe_load(handle)[0]
    start = play["vars"]["awx_start"]
    return dict((name, rule.replace("{{ awx_start[:9] }}", start[:9]).replace(" RRULE", "\nRRULE"))
                for name, rule in play["vars"]["awx_schedules"].items())


def occurrences(rule, count=6):
    return list(rrulestr(rule))[:count] if "COUNT" in rule else [moment for _index, moment in zip(range(count), rrulestr(rule))]


def test_awx_schedules_run_daily_on_sundays_and_on_first_sundays():
    schedules = awx_schedules()
    daily = occurrences(schedules["daily"])
    assert [moment.hour for moment in daily] == [3] * 6 and (daily[1] - daily[0]) == datetime.timedelta(days=1)
    assert all(moment.weekday() == 6 and moment.hour == 4 for moment in occurrences(schedules["weekly"]))
    monthly = occurrences(schedules["monthly"])
    assert all(moment.weekday() == 6 and moment.day <= 7 for moment in monthly)
    assert len(set(moment.month for moment in monthly)) == 6
    quarterly = occurrences(schedules["quarterly"], 4)
    assert [moment.month for moment in quarterly] == [1, 4, 7, 10]
    assert all(moment.weekday() == 6 and moment.day <= 7 and moment.hour == 1 for moment in quarterly)


def test_the_awx_playbook_is_valid(collections_path):
    process = subprocess.run([os.path.join(BIN, "ansible-playbook"), "--syntax-check", "-i", "localhost,",
                              os.path.join(ROOT, "playbooks", "awx_setup.yml")], capture_output=True, text=True,
                             check=False, env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path))
    assert process.returncode == 0, process.stdout + process.stderr


def test_the_systemd_calendars_elapse_when_the_cron_entries_run():
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed")
    with open(os.path.join(ROOT, "roles", "schedule", "tasks", "main.yml")) as handle:
        task = [task for task in yaml.safe_load(handle) if task["name"] == "Install the systemd services and timers"][0]
    calendars = task["vars"]["__schedule_calendar"]
    with open(os.path.join(ROOT, "roles", "schedule", "defaults", "main.yml")) as handle:
        runs = yaml.safe_load(handle)["schedule_runs"]
    for run, calendar in calendars.items():
        expression = calendar % (runs[run]["hour"], runs[run]["minute"])
        process = subprocess.run(["systemd-analyze", "calendar", "--iterations", "4", expression],
                                 capture_output=True, text=True, check=True)
        elapses = re.findall(r"(?:Next elapse|Iter\. #\d+): (\w{3}) (\d{4})-(\d{2})-(\d{2}) (\d{2}):", process.stdout)
        assert len(elapses) == 4, process.stdout
        for weekday, _year, month, day, hour in elapses:
            assert int(hour) == runs[run]["hour"]
            if run != "daily":
                assert weekday == "Sun", (run, process.stdout)
            if run in ("monthly", "quarterly"):
                assert int(day) <= 7
            if run == "quarterly":
                assert int(month) in (1, 4, 7, 10)


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


def test_the_example_inventory_parses_into_the_playbooks_groups():
    process = subprocess.run([os.path.join(BIN, "ansible-inventory"), "-i", os.path.join(ROOT, "inventories", "example"),
                              "--list", "-e", "vault_postgresql_maintenance_password=x"], capture_output=True, text=True,
                             check=True)
    inventory = json.loads(process.stdout)
    groups = dict((name, sorted(inventory[name]["hosts"]))
                  for name in ("sqlite_apps", "postgresql_servers", "web", "compose_stacks", "dev"))
    assert groups == {"sqlite_apps": ["orders1.example.com"], "postgresql_servers": ["db1.example.com", "stack1.example.com"],
                      "web": ["orders1.example.com"], "compose_stacks": ["stack1.example.com"], "dev": ["dev1.example.com"]}
    hostvars = inventory["_meta"]["hostvars"]
    host = hostvars["orders1.example.com"]
    assert host["sqlite_databases"][0]["path"] == "/srv/orders/data/orders.db"
    assert host["certificates_endpoints_from"] == "controller"
    # Each PostgreSQL host keeps its own databases and backup sets: the groups they share do not mix them.
    assert [item["name"] for item in hostvars["db1.example.com"]["backups_sets"]] == ["app-pg"]
    assert [item["name"] for item in hostvars["stack1.example.com"]["backups_sets"]] == ["shop-db", "uploads", "nightly"]
    assert hostvars["stack1.example.com"]["postgresql_databases"] == [{"db": "shop"}]


def test_the_execution_environment_carries_the_ansible_core_the_collection_requires():
    with open(os.path.join(ROOT, "execution-environment.yml")) as handle:
        wanted = yaml.safe_load(handle)["dependencies"]["ansible_core"]["package_pip"]
    with open(os.path.join(ROOT, "meta", "runtime.yml")) as handle:
        required = yaml.safe_load(handle)["requires_ansible"]
    assert wanted == "ansible-core" + required
