"""The collection as users install it: the built tarball installed with `ansible-galaxy collection install` into an
empty collections path, run by a virtualenv holding ansible-core alone (no `ansible` bundle, so no other
collection), from a folder without this repository's ansible.cfg. Then run by ansible-runner, from a private data
folder laid out as AWX lays it out for a job.

UPKEEP_CORE_VENV names the virtualenv (the Makefile makes one per ansible-core it tests) and UPKEEP_TARBALL the
tarball."""

import glob
import json
import os
import re
import shutil
import socket
import subprocess
import tarfile

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORE_VENV = os.environ.get("UPKEEP_CORE_VENV")
TARBALL = os.environ.get("UPKEEP_TARBALL")
pytestmark = pytest.mark.skipif(not (CORE_VENV and TARBALL), reason="UPKEEP_CORE_VENV and UPKEEP_TARBALL name what to test")
PLAYBOOKS = ("daily", "weekly", "monthly", "quarterly", "pulse", "window_notice", "window_open", "window_close", "restore",
             "report_merge", "awx_setup")
DEVELOPER_TREE = ("tests/", "tools/", "molecule/", "bench/", "requirements/", "Makefile", "ansible.cfg", ".ci/", "pytest.ini",
                  "inventories/demo/", "changelogs/fragments/")


def core(*command):
    return [os.path.join(CORE_VENV, "bin", command[0])] + list(command[1:])


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The collections path the tarball was installed into, and the environment that uses it and nothing else."""
    collections = tmp_path_factory.mktemp("collections")
    environment = dict((key, value) for key, value in os.environ.items() if not key.startswith(("ANSIBLE_", "PYTHON")))
    environment.update(PATH=os.path.join(CORE_VENV, "bin") + ":/usr/sbin:/usr/bin:/sbin:/bin",
                       ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
                       ANSIBLE_LOCAL_TEMP=str(tmp_path_factory.mktemp("ansible-tmp")), ANSIBLE_NOCOLOR="1")
    process = subprocess.run(core("ansible-galaxy", "collection", "install", TARBALL, "-p", str(collections)),
                             capture_output=True, text=True, env=environment, check=False)
    assert process.returncode == 0, process.stdout + process.stderr
    assert sorted(os.listdir(str(collections / "ansible_collections"))) == ["upkeep"]
    return collections, environment


@pytest.fixture
def estate(demo_estate):
    return demo_estate


def playbook(installed, cwd, *args, timeout=900):
    _collections, environment = installed
    return subprocess.run(core("ansible-playbook", *args), capture_output=True, text=True, env=environment,
                          cwd=str(cwd), timeout=timeout, check=False)


def recap(output):
    """host -> counts of the PLAY RECAP."""
    return dict((host, dict((key, int(value)) for key, value in re.findall(r"(\w+)=(\d+)", counts)))
                for host, counts in re.findall(r"^(\S+)\s+: (ok=.*)$", output, re.M))


def latest_report(folder, run):
    reports = sorted(glob.glob(str(folder / (run + "-*.json"))))
    assert reports, "no %s report in %s" % (run, folder)
    with open(reports[-1]) as handle:
        return json.load(handle)


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_tarball_holds_what_users_run_and_a_readme_per_role():
    with tarfile.open(TARBALL) as archive:
        names = archive.getnames()
    shipped = [name for name in names if name.startswith(DEVELOPER_TREE) or name in DEVELOPER_TREE]
    assert shipped == []
    roles = sorted(os.listdir(os.path.join(ROOT, "roles")))
    assert [role for role in roles if "roles/%s/README.md" % role not in names] == []
    assert all("playbooks/%s.yml" % name in names for name in PLAYBOOKS)


def test_every_playbook_passes_its_syntax_check(installed, tmp_path):
    for name in PLAYBOOKS:
        process = playbook(installed, tmp_path, "--syntax-check", "-i", "localhost,", "upkeep.maintenance." + name)
        assert process.returncode == 0, (name, process.stdout + process.stderr)


def test_the_daily_run_checks_the_demo_estate_on_localhost(installed, estate):
    process = playbook(installed, estate, "upkeep.maintenance.daily", "-i", "inventories/demo")
    assert process.returncode == 0, process.stdout + process.stderr
    assert recap(process.stdout)["localhost"]["failed"] == 0
    report = latest_report(estate / ".demo" / "reports", "daily")
    checks = set(entry["check"] for entry in report["entries"])
    assert {"sqlite_integrity", "cert_expiry", "backup_verify", "backup_freshness", "host_health"} <= checks, checks
    assert report["status"] == "critical"  # the demo's corrupt database, expired certificate and stopped backup job
    assert os.path.exists(str(estate / ".demo" / "metrics" / "upkeep_daily.prom"))


def test_the_weekly_run_writes_its_report_when_no_notification_gets_through(installed, estate):
    secret = "T0000/B0000/Xq9secretWEBHOOKtoken"
    password = "Sm7pSecretPassword"
    process = playbook(installed, estate, "upkeep.maintenance.weekly", "-i", "inventories/demo", "-vvv",
                       "-e", json.dumps(dict(report_webhook_url="http://127.0.0.1:%d/services/%s" % (closed_port(), secret),
                                             report_email_to=["ops@example.com"], report_smtp_port=closed_port(),
                                             report_smtp_username="upkeep", report_smtp_password=password,
                                             report_notify_timeout=5)))
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr
    assert secret not in process.stdout + process.stderr and password not in process.stdout + process.stderr
    report = latest_report(estate / ".demo" / "reports", "weekly")
    failed = dict((entry["target"], entry["summary"]) for entry in report["entries"]
                  if entry["check"] == "notification" and entry["status"] == "failed")
    assert set(failed) == {"webhook", "email to ops@example.com"}, failed
    assert report["status"] == "failed" and report["counts"]["failed"] >= 2
    assert secret not in json.dumps(report)
    assert glob.glob(str(estate / ".demo" / "reports" / "weekly-*.md"))
    assert os.path.exists(str(estate / ".demo" / "metrics" / "upkeep_weekly.prom"))


def test_the_sqlite_role_maintains_and_then_has_nothing_to_do(installed, estate):
    (estate / "sqlite.yml").write_text(yaml.safe_dump([dict(
        name="SQLite maintenance", hosts="sqlite_apps", gather_facts=False,
        roles=[dict(role="upkeep.maintenance.sqlite", vars=dict(sqlite_mode="maintain"))])]))
    first = playbook(installed, estate, "sqlite.yml", "-i", "inventories/demo")
    assert first.returncode == 0, first.stdout + first.stderr
    assert recap(first.stdout)["localhost"]["changed"] > 0
    second = playbook(installed, estate, "sqlite.yml", "-i", "inventories/demo")
    assert second.returncode == 0, second.stdout + second.stderr
    assert recap(second.stdout)["localhost"]["changed"] == 0, second.stdout


def test_the_awx_setup_names_the_collection_it_needs(installed, tmp_path):
    process = playbook(installed, tmp_path, "upkeep.maintenance.awx_setup", "-i", "localhost,")
    assert process.returncode == 2
    assert "needs the awx.awx collection" in process.stdout and "couldn't resolve" not in process.stdout


def private_data_dir(installed, estate):
    """A job's private data folder as AWX prepares it: the project checkout (the example project), its collections
    installed from the project's collections/requirements.yml, the inventory, and nothing that can prompt."""
    _collections, environment = installed
    folder = estate / "job"
    shutil.copytree(os.path.join(ROOT, "docs", "awx-project"), str(folder / "project"))
    requirements = folder / "project" / "collections" / "requirements.yml"
    # Galaxy is not reachable here: the project keeps the tarball, the form the example's comment shows.
    shutil.copy(TARBALL, str(folder / "project" / "collections"))
    requirements.write_text(yaml.safe_dump(dict(collections=[
        dict(name="collections/" + os.path.basename(TARBALL), type="file")])))
    installing = subprocess.run(core("ansible-galaxy", "collection", "install", "-r", str(requirements),
                                     "-p", str(folder / "requirements_collections")),
                                capture_output=True, text=True, env=dict(environment, ANSIBLE_COLLECTIONS_PATH=""),
                                cwd=str(folder / "project"), check=False)
    assert installing.returncode == 0, installing.stdout + installing.stderr
    os.makedirs(str(folder / "inventory"))
    shutil.copytree(str(estate / "inventories" / "demo"), str(folder / "inventory" / "demo"))
    # The inventory finds the estate at ../../.demo from its own folder.
    os.symlink(str(estate / ".demo"), str(folder / ".demo"))
    os.makedirs(str(folder / "env"))
    (folder / "env" / "envvars").write_text(yaml.safe_dump(dict(
        ANSIBLE_COLLECTIONS_PATH=str(folder / "requirements_collections"), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
        ANSIBLE_FORCE_COLOR="False")))
    # A job template's extra variables: the demo inventory keeps the summary out of the play's output.
    (folder / "env" / "extravars").write_text(yaml.safe_dump(dict(report_print_summary=True)))
    (folder / "env" / "settings").write_text(yaml.safe_dump(dict(job_timeout=900, suppress_ansible_output=True)))
    return folder


def job_events(folder, ident):
    events = []
    for path in glob.glob(str(folder / "artifacts" / ident / "job_events" / "*.json")):
        with open(path) as handle:
            events.append(json.load(handle))
    return sorted(events, key=lambda event: event["counter"])


def test_awx_runs_the_daily_and_weekly_jobs_through_ansible_runner(installed, estate):
    folder = private_data_dir(installed, estate)
    _collections, environment = installed
    for run in ("daily", "weekly"):
        process = subprocess.run(core("ansible-runner", "run", str(folder), "-p", "playbooks/%s.yml" % run,
                                      "--inventory", str(folder / "inventory" / "demo"), "--ident", run),
                                 capture_output=True, text=True, env=environment, stdin=subprocess.DEVNULL,
                                 timeout=900, check=False)
        artifacts = folder / "artifacts" / run
        status = (artifacts / "status").read_text().strip()
        assert (status, (artifacts / "rc").read_text().strip()) == ("successful", "0"), (
            run, process.stdout[-3000:] + process.stderr + (artifacts / "stdout").read_text()[-3000:])
        events = job_events(folder, run)
        assert not [event for event in events if event["event"] in ("runner_on_failed", "runner_on_unreachable")
                    and not event["event_data"].get("ignore_errors")]
        summary = [event for event in events if event["event"] == "runner_on_ok"
                   and event["event_data"].get("task") == "Print the summary"]
        assert summary, "no job event carries the report's summary"
        lines = summary[0]["event_data"]["res"]["msg"]
        assert lines[0].startswith(run + ": ") and lines[-1].startswith("report: ")
        assert os.path.exists(lines[-1][len("report: "):])


def test_awx_job_slices_of_the_daily_each_keep_their_report_and_the_reports_merge_into_one(installed, estate):
    """A job template with job_slice_count 4 over 20 hosts, as AWX runs it: four jobs at once, each with every fourth
    host and its own job id, each through ansible-runner; then the merge of their reports."""
    folder = private_data_dir(installed, estate)
    _collections, environment = installed
    hosts = ["shard%02d" % number for number in range(1, 21)]
    inventory = folder / "inventory" / "fleet"
    shutil.copytree(str(folder / "inventory" / "demo" / "group_vars"), str(inventory / "group_vars"))
    (inventory / "hosts.yml").write_text(yaml.safe_dump(dict(sqlite_apps=dict(hosts=dict(
        (host, dict(ansible_connection="local", ansible_python_interpreter="{{ ansible_playbook_python }}"))
        for host in hosts)))))
    jobs = [4701, 4702, 4703, 4704]
    # Each job gets its own private data folder, as AWX prepares one per job; the estate (and its reports) is shared.
    folders = [shutil.copytree(str(folder), str(estate / ("job-%d" % job)), symlinks=True) for job in jobs]
    slices = [subprocess.Popen(core("ansible-runner", "run", job_folder, "-p", "playbooks/daily.yml",
                                    "--inventory", os.path.join(job_folder, "inventory", "fleet"), "--limit", ",".join(hosts[index::4]),
                                    "--ident", "slice-%d" % job, "--cmdline", "-e awx_job_id=%d" % job),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
                               env=environment)
              for index, (job, job_folder) in enumerate(zip(jobs, folders))]
    for job, process in zip(jobs, slices):
        output = process.communicate(timeout=900)[0]
        artifacts = estate / ("job-%d" % job) / "artifacts" / ("slice-%d" % job)
        assert (artifacts / "rc").exists(), "ansible-runner ended without a result: " + output[-5000:]
        assert (artifacts / "rc").read_text().strip() == "0", output[-3000:] + (artifacts / "stdout").read_text()[-3000:]
    reports = folder / ".demo" / "reports"
    written = dict((job, glob.glob(str(reports / ("daily-*-%d.json" % job)))) for job in jobs)
    assert all(len(paths) == 1 for paths in written.values()), written
    sliced = []
    for job in jobs:
        with open(written[job][0]) as handle:
            sliced.append(json.load(handle))
    assert [sorted(report["hosts"]) for report in sliced] == [sorted(hosts[index::4]) for index in range(4)]

    merging = playbook(installed, folder, "upkeep.maintenance.report_merge", "-e", "report_dir=%s" % reports,
                       "-e", json.dumps(dict(report_merge_files=["daily-*-47??.json"])))
    assert merging.returncode == 0, merging.stdout[-3000:] + merging.stderr
    [merged_path] = glob.glob(str(reports / "daily-*-merged.json"))
    with open(merged_path) as handle:
        merged = json.load(handle)
    assert merged["slices"] == 4 and sorted(merged["hosts"]) == hosts and merged["hosts_not_reached"] == []
    assert len(merged["entries"]) == sum(len(report["entries"]) for report in sliced)
    assert sorted(entry["host"] for entry in merged["entries"] if entry["check"] == "host_health") == hosts
    assert merged["counts"] == dict((status, sum(report["counts"][status] for report in sliced)) for status in merged["counts"])
    assert os.path.exists(merged_path[:-len(".json")] + ".md")
    assert "merged from 4 reports" in merging.stdout
