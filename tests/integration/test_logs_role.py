"""The logs role's retention as one policy in three ages, run by ansible-playbook on real files: logs compressed after
7 days, archived after 30, deleted after 90 (runbook 004), the live log left alone, and a second run that changes
nothing. gzip is the oracle for the compressed files."""

import gzip
import json
import os
import re
import subprocess
import sys
import time

import yaml

DAY = 86400


def run_role(tmp_path, collections_path, folder, **variables):
    playbook = tmp_path / "logs.yml"
    playbook.write_text(yaml.safe_dump([dict(
        name="Logs", hosts="localhost", connection="local", gather_facts=False,
        vars=dict(variables, ansible_python_interpreter=sys.executable, logs_retention=[dict(
            path=str(folder), patterns=["*.jsonl", "*.jsonl.gz"], compress_age="7d", archive_age="30d", delete_age="90d")]),
        roles=[dict(role="upkeep.maintenance.logs")],
        post_tasks=[{"name": "Keep the results", "changed_when": False, "ansible.builtin.copy": dict(
            content="{{ upkeep_results | to_json }}", dest=str(tmp_path / "results.json"), mode="0600")}])]))
    process = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
                              str(playbook)], capture_output=True, text=True, check=False,
                             env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path, ANSIBLE_NOCOLOR="1"))
    assert process.returncode == 0, process.stdout[-4000:] + process.stderr
    return dict((key, int(value)) for key, value in re.findall(r"(\w+)=(\d+)", process.stdout.split("PLAY RECAP")[1]))


def test_logs_are_compressed_at_7_days_archived_at_30_and_deleted_at_90(tmp_path, collections_path):
    folder = tmp_path / "logs" / "errors"
    folder.mkdir(parents=True)
    now = time.time()
    for days in (0, 3, 10, 40, 100):
        path = folder / ("errors-%03d.jsonl" % days)
        path.write_text('{"level": "error", "n": %d}\n' % days * 50)
        os.utime(str(path), (now - days * DAY, now - days * DAY))

    recap = run_role(tmp_path, collections_path, folder)
    assert recap["changed"] > 0 and recap["failed"] == 0
    assert sorted(name for name in os.listdir(str(folder)) if name != "archive") == [
        "errors-000.jsonl", "errors-003.jsonl", "errors-010.jsonl.gz"]
    with gzip.open(str(folder / "errors-010.jsonl.gz"), "rt") as handle:
        assert handle.read() == '{"level": "error", "n": 10}\n' * 50
    archived = [os.path.join(base, name) for base, _dirs, names in os.walk(str(folder / "archive")) for name in names]
    assert [os.path.basename(path) for path in archived] == ["errors-040.jsonl.gz"], archived
    # Archived under the day it was last written, not the day it was moved.
    assert time.strftime("%Y-%m-%d", time.gmtime(now - 40 * DAY)) in archived[0]

    assert run_role(tmp_path, collections_path, folder)["changed"] == 0


def test_the_errors_of_the_week_are_counted_against_the_runbooks_threshold(tmp_path, collections_path):
    logs = tmp_path / "app"
    logs.mkdir()
    now = time.time()

    def stamp(days):
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - days * DAY))

    (logs / "backend.log").write_text(
        "".join("%s ERROR order %d failed\n" % (stamp(day % 6 + 0.5), day) for day in range(150))
        + ("%s ERROR too old to count\n" % stamp(9)) * 500 + ("%s INFO fine\n" % stamp(1)) * 1000)
    (logs / "worker.log").write_text(("%s ERROR retry\n" % stamp(2)) * 20)
    (tmp_path / "rotated").mkdir()
    run_role(tmp_path, collections_path, tmp_path / "rotated", logs_error_files=[str(logs / "*.log")])
    entries = [entry for entry in json.loads((tmp_path / "results.json").read_text()) if entry["check"] == "log_errors"]
    statuses = dict((os.path.basename(entry["target"]), (entry["status"], entry["metrics"].get("matches")))
                    for entry in entries)
    assert statuses.get("backend.log") == ("warning", 150), entries
    assert statuses.get("worker.log", ("ok", 20)) == ("ok", 20), entries
