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
    # Runbook 004's "more than 100 errors in the week" is the host's: the files are judged together, each file's count
    # in the details.
    [entry] = [entry for entry in json.loads((tmp_path / "results.json").read_text()) if entry["check"] == "log_errors"]
    assert (entry["target"], entry["status"], entry["metrics"]["matches"]) == (str(logs / "*.log"), "warning", 170)
    assert sorted((os.path.basename(found["path"]), found["matches"]) for found in entry["details"]["files"]) == [
        ("backend.log", 150), ("worker.log", 20)]
    assert entry["summary"] == ("170 matching lines in 7 d (warning above 100, critical above 1000) over 2 files: "
                                "backend.log 150, worker.log 20")


def test_two_logs_below_the_threshold_each_are_judged_by_their_total(run_module, tmp_path):
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))
    for name in ("api.log", "worker.log"):
        (tmp_path / name).write_text(("%s ERROR failed\n" % stamp) * 60)
    (tmp_path / "own.log").write_text(("%s ERROR failed\n" % stamp) * 5)
    result = run_module("log_scan", files=[str(tmp_path / "api.log"), str(tmp_path / "worker.log"),
                                           dict(path=str(tmp_path / "own.log"), warning=2)],
                        window="7d", warning=100, critical=1000)
    [total, own] = result["upkeep_results"]
    assert (total["status"], total["metrics"]["matches"]) == ("warning", 120)
    # A file with limits of its own is judged on its own.
    assert (own["target"], own["status"], own["metrics"]["matches"]) == (str(tmp_path / "own.log"), "warning", 5)
