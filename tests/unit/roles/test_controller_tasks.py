"""Every task that runs on the controller says become: false. Users run the playbooks with -b for their hosts, and the
controller's user (an execution environment's, AWX's) has no sudo: a delegated task that inherited -b would fail with
"sudo: a password is required" after the maintenance was done, and lose its report."""

import glob
import os

import yaml

from collection import ROOT  # tests/support/collection.py

TASK_FILES = sorted(glob.glob(os.path.join(ROOT, "roles", "*", "tasks", "*.yml"))
                    + glob.glob(os.path.join(ROOT, "playbooks", "*.yml"))
                    + glob.glob(os.path.join(ROOT, "playbooks", "tasks", "*.yml")))
NESTED = ("block", "rescue", "always", "tasks", "pre_tasks", "post_tasks", "handlers")
# Actions that never connect to a host: they run inside ansible-playbook, whatever become says.
CONTROLLER_ONLY = {"ansible.builtin.set_fact", "ansible.builtin.debug", "ansible.builtin.fail", "ansible.builtin.assert",
                   "ansible.builtin.include_tasks", "ansible.builtin.import_tasks", "ansible.builtin.include_role",
                   "ansible.builtin.import_role", "ansible.builtin.import_playbook", "ansible.builtin.meta"}


def tasks_on_the_controller(entries, inherited, where):
    """(where, become) of every task that connects to the controller, with the become it has from its blocks."""
    for entry in entries or []:
        become = entry.get("become", inherited)
        on_controller = entry.get("delegate_to") == "localhost" or entry.get("hosts") == "localhost" or where.endswith("*")
        nested = [key for key in NESTED if key in entry]
        if nested:
            for key in nested:
                yield from tasks_on_the_controller(entry[key], become, where + "*" if on_controller else where)
        elif on_controller and not CONTROLLER_ONLY.intersection(entry):
            yield "%s: %s" % (where.rstrip("*"), entry.get("name")), become


def test_every_task_on_the_controller_turns_become_off():
    found = [(name, become) for path in TASK_FILES
             for name, become in tasks_on_the_controller(yaml.safe_load(open(path)), None, os.path.relpath(path, ROOT))]
    assert len(found) >= 8, found
    assert [name for name, become in found if become is not False] == []
