"""Every check name the collection emits is in the registry of checks (CHECKS), and every registered name is emitted.

Names are found where entries are made: the first argument of result_entry() and of the modules' finding() helpers, a
check= keyword or default in the Python of plugins/; upkeep_entry and upkeep_entries in the YAML of roles/, playbooks/ and the
filters' documentation; the report role's registered results. A name built at run time cannot be found this way, so
the test fails on one.
"""

import ast
import os
import re

from ansible_collections.upkeep.maintenance.plugins.filter.results import upkeep_markdown
from ansible_collections.upkeep.maintenance.plugins.module_utils._results import CHECKS, STATUSES
from collection import ROOT  # tests/support/collection.py

EMITTERS = ("result_entry", "finding")
YAML_NAMES = re.compile(r"upkeep_entr(?:y|ies)['(]\s*,?\s*'([a-z_]+)'|\{var: \w+, check: ([a-z_]+)")


def files(*folders, suffix):
    for folder in folders:
        for parent, _dirs, names in os.walk(os.path.join(ROOT, folder)):
            for name in sorted(names):
                if name.endswith(suffix):
                    yield os.path.join(parent, name)


def names_in(node, dicts):
    """The check names an argument can take: literals, either side of a conditional, the values of a module's dict."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return names_in(node.body, dicts) | names_in(node.orelse, dicts)
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id in dicts:
        return dicts[node.value.id]
    raise AssertionError("a check name that is not written out: %s" % ast.unparse(node))


def module_dicts(tree):
    """Module-level dicts of literal strings, by name: dict(a="x") or {"a": "x"}."""
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            value = node.value
            if isinstance(value, ast.Call) and getattr(value.func, "id", None) == "dict" and not value.args:
                values = [keyword.value for keyword in value.keywords]
            elif isinstance(value, ast.Dict):
                values = value.values
            else:
                continue
            if values and all(isinstance(item, ast.Constant) and isinstance(item.value, str) for item in values):
                found[node.targets[0].id] = {item.value for item in values}
    return found


def python_names(path):
    with open(path) as stream:
        tree = ast.parse(stream.read())
    dicts, found = module_dicts(tree), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            # A helper's default name: fail(module, message, check="maintenance_window").
            named = node.args.args[len(node.args.args) - len(node.args.defaults):]
            found |= {default.value for argument, default in zip(named, node.args.defaults)
                      if argument.arg == "check" and isinstance(default, ast.Constant)}
        if not isinstance(node, ast.Call):
            continue
        called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
        arguments = [node.args[0]] if called in EMITTERS and node.args else []
        # check= of a call that passes a name on to an entry (a dict's key "check" is data, not a name given here).
        arguments += [keyword.value for keyword in node.keywords if keyword.arg == "check" and called != "dict"
                      and not (isinstance(keyword.value, ast.Constant) and isinstance(keyword.value.value, bool))]
        for argument in arguments:
            # A helper passing on the name its caller gave (finding(self, check, ...)) names none itself.
            if not isinstance(argument, ast.Name):
                found |= names_in(argument, dicts)
    return found


def emitted():
    found = {}
    for path in files("plugins", suffix=".py"):
        for name in python_names(path):
            found.setdefault(name, []).append(os.path.relpath(path, ROOT))
    for path in files("roles", "playbooks", "plugins", suffix=".yml"):
        with open(path) as stream:
            for match in YAML_NAMES.finditer(stream.read()):
                found.setdefault(match.group(1) or match.group(2), []).append(os.path.relpath(path, ROOT))
    return found


def test_every_emitted_check_is_registered_and_every_registered_check_emitted():
    found = emitted()
    assert len(found) >= 60, sorted(found)
    assert {name: places for name, places in found.items() if name not in CHECKS} == {}
    assert sorted(set(CHECKS) - set(found)) == []


def test_each_registered_check_names_its_writer_and_only_known_statuses():
    for name, check in CHECKS.items():
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*", name), name
        assert check.emitter and check.statuses, name
        named = set(re.findall(r"`([a-z]+)`", check.statuses)) & set(STATUSES + ("severity",))
        assert named, (name, check.statuses)


def test_a_name_built_at_run_time_is_refused_by_the_scan(tmp_path):
    source = tmp_path / "module.py"
    source.write_text('entries = [result_entry("backup_" + check["name"], target, "ok", "")]\n')
    try:
        python_names(str(source))
    except AssertionError as error:
        assert "not written out" in str(error)
    else:
        raise AssertionError("a concatenated name was accepted")


def test_the_report_recommends_what_the_registry_says_once_per_check_found():
    def finding(check, status):
        return dict(host="app1", check=check, target="/srv/backups", status=status, summary="found", metrics={},
                    details={})

    report = dict(run="daily", status="critical", started="2026-12-04T03:00:00Z", finished="2026-12-04T03:01:00Z",
                  duration_seconds=60, hosts=["app1"], counts={"critical": 2, "warning": 1}, bytes_reclaimed=0,
                  entries=[finding("backup_freshness", "critical"), finding("backup_freshness", "critical"),
                           finding("backup_shrink", "warning"), finding("health_disk", "ok")])
    recommendations = upkeep_markdown(report).split("## Recommendations\n\n", 1)[1].strip().splitlines()
    assert recommendations == ["- " + CHECKS["backup_freshness"].recommendation]
