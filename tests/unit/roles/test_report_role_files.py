"""The report role's two lists of the registered results it reads: the names it reads (vars/main.yml) and those it
clears at the end of a run (tasks/main.yml) are the same."""

import os

import yaml

from collection import ROOT  # tests/support/collection.py

ROLE = os.path.join(ROOT, "roles", "report")


def test_the_report_clears_every_registered_result_it_reads():
    with open(os.path.join(ROLE, "vars", "main.yml")) as stream:
        read = [spec["var"] for spec in yaml.safe_load(stream)["__report_registered"]]
    with open(os.path.join(ROLE, "tasks", "main.yml")) as stream:
        [clear] = [task for task in yaml.safe_load(stream) if task["name"].startswith("Clear the reported results")]
    assert sorted(clear["ansible.builtin.set_fact"]) == sorted(["upkeep_results"] + read)
