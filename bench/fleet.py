"""Benchmark (not a test): the daily playbook against fleets of 1, 5 and 20 container hosts.

Starts the hosts from the test image (tests/images/build.sh), lays out on each an application estate (a bloated, a WAL
and a corrupt SQLite database with a backup, certificates, logs; tests/estate.py and tests/certs.py) and nginx, then
prints for each fleet size the wall time of `ansible-playbook upkeep.maintenance.daily` over the docker connection with
pipelining and --forks 20, the tasks each host ran, and the ratio to one host (the baseline, measured in the same run).
Goal: 20 hosts take at most twice the time of one.

Usage: python bench/fleet.py [--sizes 1,5,20] [--image upkeep-test:bookworm-...]
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

from harness import ROOT, collections_path

PREFIX = "upkeep-bench-fleet-"

INVENTORY_VARS = dict(
    ansible_connection="community.docker.docker",
    ansible_python_interpreter="/usr/bin/python3",
    sqlite_databases=[dict(path="/srv/app/data/%s.db" % name) for name in ("app", "events", "inventory")],
    sqlite_backup_dir="/srv/app/backups",
    certificates_paths=["/srv/app/certs/"],
    backups_sets=[dict(name="inventory", kind="external", dest="/srv/app/backups/inventory", pattern="inventory-*.db")],
    health_services=["nginx"],
    health_service_manager="sysvinit",
    health_endpoints=["http://localhost/"],
    health_logs=["/srv/app/logs/app.log"],
    report_textfile_dir="/srv/app/metrics",
)

PREPARE = """
set -e
python3 /usr/local/lib/estate.py demo /srv/app >/dev/null
python3 /usr/local/lib/certs.py /srv/app/certs >/dev/null
/etc/init.d/nginx start >/dev/null
"""


def image():
    return subprocess.run(["bash", os.path.join(ROOT, "tests", "images", "build.sh"), "bookworm"], check=True,
                          capture_output=True, text=True).stdout.strip()


def start_hosts(count, reference):
    names = ["%s%02d" % (PREFIX, number) for number in range(1, count + 1)]
    for name in names:
        subprocess.run(["docker", "run", "-d", "--name", name, reference, "/usr/bin/tini", "--", "sleep", "infinity"],
                       check=True, capture_output=True)
        for source, target in (("estate.py", "/usr/local/lib/estate.py"), ("certs.py", "/usr/local/lib/certs.py")):
            subprocess.run(["docker", "cp", os.path.join(ROOT, "tests", source), "%s:%s" % (name, target)], check=True)
        subprocess.run(["docker", "exec", name, "sh", "-c", PREPARE], check=True)
    return names


def remove_hosts():
    names = subprocess.run(["docker", "ps", "-aq", "--filter", "name=" + PREFIX], check=True, capture_output=True,
                           text=True).stdout.split()
    if names:
        subprocess.run(["docker", "rm", "-f"] + names, check=True, capture_output=True)


def run_daily(tmp, collections, names):
    inventory = os.path.join(tmp, "inventory.json")
    with open(inventory, "w") as stream:
        json.dump({"all": {"vars": dict(INVENTORY_VARS, report_dir=os.path.join(tmp, "reports"))},
                   "sqlite_apps": {"hosts": dict((name, {}) for name in names)}}, stream)
    environment = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_PIPELINING="1", ANSIBLE_FORKS="20",
                       ANSIBLE_NOCOLOR="1", ANSIBLE_HOST_KEY_CHECKING="0")
    started = time.monotonic()
    process = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory,
                              "upkeep.maintenance.daily"], capture_output=True, text=True, env=environment, check=False)
    elapsed = time.monotonic() - started
    if process.returncode != 0:
        raise SystemExit("the daily playbook failed:\n" + process.stdout[-3000:] + process.stderr[-2000:])
    tasks = []
    for counts in re.findall(r"^%s\d+\s+: (.*)$" % PREFIX, process.stdout, re.MULTILINE):
        figures = dict((key, int(value)) for key, value in re.findall(r"(\w+)=(\d+)", counts))
        tasks.append(figures["ok"] + figures["failed"] + figures["skipped"])
    return elapsed, tasks


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,5,20")
    parser.add_argument("--image", default=None)
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    reference = args.image or image()
    tmp = tempfile.mkdtemp(prefix="upkeep-bench-fleet-")
    collections = collections_path(tmp)
    results = []
    try:
        for size in sizes:
            remove_hosts()
            names = start_hosts(size, reference)
            elapsed, tasks = run_daily(tmp, collections, names)
            results.append((size, elapsed, tasks))
            print("%2d hosts: %6.1f s wall, %d tasks per host" % (size, elapsed, max(tasks)), flush=True)
    finally:
        remove_hosts()
    baseline = results[0][1]
    print()
    print("daily playbook, docker connection, pipelining, forks 20 (%s)" % reference)
    for size, elapsed, tasks in results:
        print("%2d hosts  %6.1f s  %5.2fx the time of %d host  (%d tasks per host)" % (
            size, elapsed, elapsed / baseline, results[0][0], max(tasks)))
    print("goal: %d hosts in at most 2x the time of %d" % (results[-1][0], results[0][0]))


if __name__ == "__main__":
    main(sys.argv[1:])
