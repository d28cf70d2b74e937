"""One maintenance window per host at a time, run by ansible-playbook as cron or AWX runs it: a run that finds the
window of another live run waits for it, then leaves the host alone and says so; the window of a run that died is
resumed and closed by the next."""

import glob
import json
import os
import signal
import subprocess
import sys
import time

PLAYBOOK = """
- name: Work inside a window
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - name: Inside the window
      block:
        - name: Open
          ansible.builtin.include_role:
            name: upkeep.maintenance.window
        - name: The window's work, until the test lets it end
          ansible.builtin.wait_for:
            path: "{{ release }}"
            timeout: 300
          when: upkeep_window is upkeep.maintenance.open_for_work
        - name: Close
          ansible.builtin.include_role:
            name: upkeep.maintenance.window
            tasks_from: leave
      rescue:
        - name: Roll back
          ansible.builtin.include_role:
            name: upkeep.maintenance.window
            tasks_from: rollback
      always:
        - name: Report
          ansible.builtin.include_role:
            name: upkeep.maintenance.report
"""


def start(tmp_path, collections_path, name, **settings):
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    variables = dict(window_name=name, report_run_name=name, release=str(tmp_path / ("release-" + name)),
                     window_state_file=str(tmp_path / "window.json"), window_flag_file=str(tmp_path / "maintenance.flag"),
                     window_max_load=0, window_space=[], window_endpoints=[], report_dir=str(tmp_path / "reports"),
                     report_textfile_dir="", **settings)
    return subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
                             "-e", json.dumps(variables), str(tmp_path / "play.yml")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
                            env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path, ANSIBLE_NOCOLOR="1"))


def finish(process):
    output = process.communicate(timeout=300)[0]
    assert process.returncode == 0, output[-4000:]
    return output


def until_open(tmp_path, process):
    record = tmp_path / "window.json"
    while not record.exists():
        assert process.poll() is None, process.stdout.read()[-4000:]
        time.sleep(0.1)
    return json.loads(record.read_text())


def window_entries(tmp_path, run):
    [path] = glob.glob(str(tmp_path / "reports" / (run + "-*.json")))
    with open(path) as stream:
        return [entry for entry in json.load(stream)["entries"] if entry["check"] == "maintenance_window"]


def test_a_second_run_waits_for_the_live_runs_window_then_leaves_the_host_alone(tmp_path, collections_path):
    weekly = start(tmp_path, collections_path, "weekly")
    opened = until_open(tmp_path, weekly)
    started = time.monotonic()
    finish(start(tmp_path, collections_path, "monthly", window_holder_wait="3s"))
    assert time.monotonic() - started >= 3, "the monthly did not wait for the weekly's window"
    [skipped] = window_entries(tmp_path, "monthly")
    assert skipped["status"] == "warning" and skipped["summary"].startswith(
        "monthly window not opened: the weekly window opened at %s by another run" % opened["opened"])
    # The weekly's window is still the weekly's, its flag up, until the weekly closes it.
    assert json.loads((tmp_path / "window.json").read_text()) == opened and (tmp_path / "maintenance.flag").exists()
    (tmp_path / "release-weekly").write_text("")
    finish(weekly)
    assert [entry["summary"].split(":")[0] for entry in window_entries(tmp_path, "weekly")] == [
        "weekly window opened", "weekly window closed"]
    assert not (tmp_path / "window.json").exists() and not (tmp_path / "maintenance.flag").exists()


def test_the_window_of_a_run_that_died_is_resumed_and_closed_by_the_next(tmp_path, collections_path):
    crashed = start(tmp_path, collections_path, "weekly")
    opened = until_open(tmp_path, crashed)
    os.killpg(crashed.pid, signal.SIGKILL)
    crashed.wait()
    started = time.monotonic()
    (tmp_path / "release-monthly").write_text("")
    finish(start(tmp_path, collections_path, "monthly", window_holder_wait="60s"))
    assert time.monotonic() - started < 60, "the monthly waited for a run that was gone"
    [resumed, closed] = window_entries(tmp_path, "monthly")
    assert resumed["status"] == "warning" and "resumes the window opened at %s" % opened["opened"] in resumed["summary"]
    assert closed["summary"].startswith("monthly window closed")
    assert not (tmp_path / "window.json").exists()
