"""Benchmark (not a test): the daily and weekly playbooks against fleets of 1, 5, 20 and 50 container hosts.

Starts the hosts from the test image (tests/images/build.sh), lays out on each an application estate (a bloated, a WAL
and a corrupt SQLite database with a backup, certificates, logs; tests/support/estate.py and tests/support/certs.py), nginx and sshd
with the user deploy (passwordless sudo), then prints for each transport, playbook and fleet size the wall time of
`ansible-playbook` with pipelining and --forks 20, the controller's CPU seconds per host (user and system time of the
ansible-playbook process and every process it waited for, the docker CLI or ssh client of each task included,
divided by the hosts), the tasks each host executed and skipped (those of a typical host, and those run once per run
on the first host), and the ratio of the wall time to one host's (the baseline, measured in the same run). The
transports: the docker connection as root, and SSH as deploy with -b, the way users reach their hosts (OpenSSH's
ControlPersist keeps one connection per host for the run, as Ansible sets it by default). Goals: 20 hosts in at most
twice the time of one, at most 1 CPU-second and 12 tasks per host for the daily run.

With --variants, the daily run at the largest size is run again with what users reach for to speed Ansible up: the
free strategy, 50 forks, the Docker API connection (community.docker.docker_api, no docker CLI per task), and
Mitogen for Ansible when --mitogen names the folder of its ansible_mitogen package (pip install --target DIR mitogen).

Usage: python bench/fleet.py [--sizes 1,5,20,50] [--playbooks daily,weekly] [--transports docker,ssh]
                             [--image upkeep-test:bookworm-...] [--variants] [--mitogen DIR]
"""

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

from harness import ROOT, collections_path

PREFIX = "upkeep-bench-fleet-"

INVENTORY_VARS = dict(
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
    # The weekly run: no package lists fetched and no Docker daemon on these hosts.
    updates_refresh_cache=False,
    cleanup_docker=False,
)

PREPARE = """
set -e
python3 /usr/local/lib/estate.py demo /srv/app >/dev/null
python3 /usr/local/lib/certs.py /srv/app/certs >/dev/null
/etc/init.d/nginx start >/dev/null
useradd --create-home deploy
echo 'deploy ALL=(ALL:ALL) NOPASSWD: ALL' >/etc/sudoers.d/deploy
install -d -o deploy -g deploy -m 0700 /home/deploy/.ssh
install -o deploy -g deploy -m 0600 /usr/local/lib/authorized_keys /home/deploy/.ssh/authorized_keys
mkdir -p /run/sshd
/usr/sbin/sshd
"""

# How each transport reaches a host: Ansible's connection, and the inventory variables of a host at an address.
TRANSPORTS = dict(
    docker=lambda name, address, key: dict(ansible_connection="community.docker.docker"),
    ssh=lambda name, address, key: dict(
        ansible_connection="ssh", ansible_host=address, ansible_user="deploy", ansible_become=True,
        ansible_ssh_private_key_file=key,
        ansible_ssh_common_args="-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"),
)


def image():
    return subprocess.run(["bash", os.path.join(ROOT, "tests", "images", "build.sh"), "bookworm"], check=True,
                          capture_output=True, text=True).stdout.strip()


def start_hosts(count, reference, key):
    """name -> address of each host started."""
    names = ["%s%02d" % (PREFIX, number) for number in range(1, count + 1)]
    for name in names:
        subprocess.run(["docker", "run", "-d", "--name", name, reference, "/usr/bin/tini", "--", "sleep", "infinity"],
                       check=True, capture_output=True)
        for source, target in ((os.path.join(ROOT, "tests", "support", "estate.py"), "/usr/local/lib/estate.py"),
                               (os.path.join(ROOT, "tests", "support", "certs.py"), "/usr/local/lib/certs.py"),
                               (key + ".pub", "/usr/local/lib/authorized_keys")):
            subprocess.run(["docker", "cp", source, "%s:%s" % (name, target)], check=True)
        subprocess.run(["docker", "exec", name, "sh", "-c", PREPARE], check=True)
    return dict((name, subprocess.run(["docker", "inspect", "-f", "{{.NetworkSettings.IPAddress}}", name], check=True,
                                      capture_output=True, text=True).stdout.strip()) for name in names)


def remove_hosts():
    names = subprocess.run(["docker", "ps", "-aq", "--filter", "name=" + PREFIX], check=True, capture_output=True,
                           text=True).stdout.split()
    if names:
        subprocess.run(["docker", "rm", "-f"] + names, check=True, capture_output=True)


def run_playbook(tmp, collections, hosts, playbook, transport="docker", connection=None, environment=()):
    """Wall seconds, controller CPU seconds, and per host the tasks executed and skipped."""
    inventory = os.path.join(tmp, "inventory.json")
    key = os.path.join(tmp, "id_ed25519")
    with open(inventory, "w") as stream:
        json.dump({"all": {"vars": dict(INVENTORY_VARS, report_dir=os.path.join(tmp, "reports"), window_max_load=0)},
                   "sqlite_apps": {"hosts": dict(
                       (name, dict(TRANSPORTS[transport](name, address, key),
                                   **({"ansible_connection": connection} if connection else {})))
                       for name, address in hosts.items())}}, stream)
    settings = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_PIPELINING="1", ANSIBLE_FORKS="20",
                    ANSIBLE_NOCOLOR="1", ANSIBLE_HOST_KEY_CHECKING="0")
    settings.update(environment)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    process = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory,
                              "upkeep.maintenance." + playbook], capture_output=True, text=True, env=settings,
                             check=False)
    elapsed = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if process.returncode != 0:
        raise SystemExit("the %s playbook failed:\n%s%s" % (playbook, process.stdout[-3000:], process.stderr[-2000:]))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    tasks = []
    for counts in re.findall(r"^%s\d+\s+: (.*)$" % PREFIX, process.stdout, re.MULTILINE):
        figures = dict((key, int(value)) for key, value in re.findall(r"(\w+)=(\d+)", counts))
        tasks.append((figures["ok"] + figures["failed"], figures["skipped"]))
    return elapsed, cpu, tasks


def task_counts(tasks):
    """A typical host's tasks (executed, skipped), and the tasks run once per run on the first host besides."""
    typical = sorted(tasks, key=sum)[len(tasks) // 2]
    return typical, sum(max(tasks, key=sum)) - sum(typical)


def variants(mitogen):
    """Name, connection and environment of each way of running the same daily."""
    found = [("linear, forks 20 (the baseline)", "community.docker.docker", {}),
             ("free strategy", "community.docker.docker", {"ANSIBLE_STRATEGY": "free"}),
             ("forks 50", "community.docker.docker", {"ANSIBLE_FORKS": "50"}),
             ("Docker API connection", "community.docker.docker_api", {})]
    if mitogen:
        # Mitogen knows the docker connection by its short name, and runs one Python per host for all of its tasks.
        found.append(("Mitogen (mitogen_linear)", "docker", {
            "ANSIBLE_STRATEGY_PLUGINS": os.path.join(mitogen, "ansible_mitogen", "plugins", "strategy"),
            "ANSIBLE_STRATEGY": "mitogen_linear", "PYTHONPATH": mitogen}))
    return found


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,5,20,50")
    parser.add_argument("--playbooks", default="daily,weekly")
    parser.add_argument("--transports", default="docker,ssh")
    parser.add_argument("--image", default=None)
    parser.add_argument("--variants", action="store_true")
    parser.add_argument("--mitogen", default=None, help="the folder holding the ansible_mitogen package")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    reference = args.image or image()
    transports = args.transports.split(",")
    tmp = tempfile.mkdtemp(prefix="upkeep-bench-fleet-")
    collections = collections_path(tmp)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", os.path.join(tmp, "id_ed25519")], check=True)
    results = []
    compared = []
    try:
        for size in sizes:
            remove_hosts()
            hosts = start_hosts(size, reference, os.path.join(tmp, "id_ed25519"))
            for transport in transports:
                for playbook in args.playbooks.split(","):
                    elapsed, cpu, tasks = run_playbook(tmp, collections, hosts, playbook, transport)
                    results.append((transport, playbook, size, elapsed, cpu, tasks))
                    typical, once = task_counts(tasks)
                    print("%-6s %-7s %2d hosts: %6.1f s wall, %5.2f CPU-s per host, %d tasks per host (%d executed, "
                          "%d skipped), %d more once per run"
                          % (transport, playbook, size, elapsed, cpu / size, sum(typical), typical[0], typical[1], once),
                          flush=True)
        if args.variants:
            for name, connection, environment in variants(args.mitogen):
                elapsed, cpu, tasks = run_playbook(tmp, collections, hosts, "daily", "docker", connection, environment)
                compared.append((name, elapsed, cpu, tasks))
                print("daily %d hosts, %s: %.1f s wall, %.2f CPU-s per host" % (sizes[-1], name, elapsed, cpu / sizes[-1]),
                      flush=True)
    finally:
        remove_hosts()
    print()
    print("pipelining, forks 20 (%s); docker: the docker connection as root; ssh: SSH as deploy with -b; ratios to the "
          "first size of the same transport, measured in the same run" % reference)
    print("%-9s %-7s %6s %8s %8s %12s %24s"
          % ("transport", "run", "hosts", "wall s", "ratio", "CPU-s/host", "tasks/host (+once/run)"))
    for transport in transports:
        for playbook in args.playbooks.split(","):
            rows = [row for row in results if row[:2] == (transport, playbook)]
            for _transport, _playbook, size, elapsed, cpu, tasks in rows:
                typical, once = task_counts(tasks)
                print("%-9s %-7s %6d %8.1f %7.2fx %12.2f %14d (%d+%d) +%d" % (
                    transport, playbook, size, elapsed, elapsed / rows[0][3], cpu / size, sum(typical), typical[0],
                    typical[1], once))
    print("goals: %d hosts in at most 2x the time of %d; daily at most 1 CPU-s and 12 tasks per host" % (
        sizes[-1] if 20 not in sizes else 20, sizes[0]))
    if compared:
        print()
        print("the daily at %d hosts, each way against the first, measured in the same run" % sizes[-1])
        print("%-34s %8s %8s %12s" % ("way", "wall s", "ratio", "CPU-s/host"))
        for name, elapsed, cpu, _tasks in compared:
            print("%-34s %8.1f %7.2fx %12.2f" % (name, elapsed, elapsed / compared[0][1], cpu / sizes[-1]))


if __name__ == "__main__":
    main(sys.argv[1:])
