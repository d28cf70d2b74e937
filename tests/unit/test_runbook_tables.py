"""The runbook tables of docs/runbooks.md and the Molecule runbooks scenario say the same: each row of a system's table, but the
manual ones, is a test of the scenario's verifier named after the row (test_SYSTEM_<the row's first column>), which
checks that the task the row names runs for that system; and each such test is a row."""

import ast
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MANUAL = "Manual by nature"


def rows():
    with open(os.path.join(ROOT, "docs", "runbooks.md")) as stream:
        section = stream.read()
    found = []
    for system, table in re.findall(r"^## (\d{3}): .*?\n\n((?:\|.*\n)+)", section, re.M):
        for line in table.splitlines()[2:]:
            task = line.split("|")[1].strip()
            if task != MANUAL:
                found.append("test_%s_%s" % (system, re.sub(r"[^a-z0-9]+", "_", task.lower()).strip("_")))
    return found


def verifier_tests():
    with open(os.path.join(ROOT, "molecule", "runbooks", "tests", "test_runbooks.py")) as stream:
        tree = ast.parse(stream.read())
    return [node.name for node in tree.body if isinstance(node, ast.FunctionDef) and re.match(r"test_\d{3}_", node.name)]


def test_every_row_of_the_runbook_tables_is_a_test_of_the_runbooks_scenario_and_every_such_test_a_row():
    tables, tests = rows(), verifier_tests()
    assert len(tables) >= 30 and len({name[5:8] for name in tables}) == 5, tables
    assert sorted(set(tables) - set(tests)) == []
    assert sorted(set(tests) - set(tables)) == []
