"""Every module run by ansible-playbook, as users run them: the play recap and the results contract must agree with
what each module did. A module result key that Ansible interprets (skipped, failed, rc, results, ...) would make a
run that deleted files show as skipped, or drop its entries from the report."""

import ast
import json
import os
import re
import subprocess
import sys

import yaml

import pgserver

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")


def runs_on_the_controller(name):
    """Whether a module is only the documentation of an action plugin that never runs a module (validate_roles)."""
    action = os.path.join(ROOT, "plugins", "action", name)
    return os.path.exists(action) and "_execute_module" not in open(action).read()


# The modules that run on the hosts.
MODULES = sorted(name[:-3] for name in os.listdir(os.path.join(ROOT, "plugins", "modules")) if name.endswith(".py")
                 and not runs_on_the_controller(name))
# Top-level result keys that Ansible's executor, strategies or callbacks give a meaning of their own.
RESERVED = {"failed", "skipped", "skip_reason", "unreachable", "rc", "results", "ansible_facts", "invocation",
            "exception", "warnings", "deprecations", "attempts", "retries", "censored", "module_stdout",
            "module_stderr", "diff", "item", "ansible_loop_var", "ansible_index_var", "changed_when_result",
            "failed_when_result"}


def returned_keys(module):
    """The top-level keys a module's RETURN documentation declares."""
    with open(os.path.join(ROOT, "plugins", "modules", module + ".py")) as handle:
        tree = ast.parse(handle.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "RETURN":
            return set(yaml.safe_load(node.value.value) or {})
    return set()


def test_no_module_documents_a_result_key_ansible_interprets():
    clashes = dict((module, sorted(returned_keys(module) & RESERVED)) for module in MODULES)
    assert dict((module, keys) for module, keys in clashes.items() if keys) == {}


def estate(tmp_path, make_estate):
    data = tmp_path / "data"
    data.mkdir()
    make_estate.make_database(str(data / "app.db"))
    make_estate.make_bloated(str(data / "bloated.db"))
    logs = tmp_path / "logs"
    logs.mkdir()
    for day in range(6):
        path = logs / ("app.log.%d" % (day + 1))
        path.write_text("old log line\n")
        make_estate.age_file(str(path), 10 + day)
    (logs / "app.log").write_text("2026-11-25T10:00:00Z ERROR something broke\n")
    (tmp_path / "www").mkdir()
    for folder in ("app", "bloated", "certs"):
        (tmp_path / "backups" / folder).mkdir(parents=True)
    (tmp_path / "open").mkdir()
    (tmp_path / "open" / "config.yml").write_text("debug: false\n")
    os.chmod(str(tmp_path / "open" / "config.yml"), 0o666)
    certificates = tmp_path / "certs"
    subprocess.run([sys.executable, os.path.join(ROOT, "tests", "support", "certs.py"), str(certificates)], check=True,
                   capture_output=True)
    return tmp_path


def tasks(root, server, db):
    login = server.login(db)
    planned = [
        ("sqlite_check", dict(path="%s/data/app.db" % root)),
        ("sqlite_backup", dict(path="%s/data/app.db" % root, dest="%s/backups/app" % root)),
        ("sqlite_vacuum", dict(path="%s/data/bloated.db" % root)),
        ("sqlite_retention", dict(path="%s/data/app.db" % root, statements=[dict(
            name="items of one name", age="1d", sql="DELETE FROM items WHERE name = 'item-1' AND :cutoff IS NOT NULL")])),
        ("backup_create", dict(kind="folder", src="%s/certs" % root, dest="%s/backups/certs" % root)),
        ("backup_restore", dict(src="%s/backups/certs" % root, dest="%s/certs-restored" % root)),
        ("backup_verify", dict(path="%s/backups/app" % root, pattern="app-*.db", max_age="1d")),
        ("prune", dict(path="%s/logs" % root, patterns=["app.log.*"], age="7d", min_keep=2)),
        ("cert_expiry", dict(paths=["%s/certs/site.pem" % root], fail_on="never")),
        # Limited to a label nothing carries: the machine's Docker keeps all it has.
        ("docker_prune", dict(labels=["upkeep-test=nothing-carries-this"], build_cache=False)),
        ("host_health", dict(mounts=[str(root)], load_warning=1000, load_critical=1000)),
        ("log_scan", dict(files=["%s/logs/app.log" % root], window="1000d")),
        ("maintenance_window", dict(state="open", name="test", state_file="%s/window.json" % root,
                                    flag_file="%s/www/maintenance.flag" % root, max_load=0)),
        ("maintenance_window", dict(state="closed", name="test", state_file="%s/window.json" % root,
                                    flag_file="%s/www/maintenance.flag" % root)),
        ("pending_updates", dict(refresh_cache=False)),
        ("security_review", dict(world_writable_roots=["%s/open" % root])),
        ("prometheus_textfile", dict(path="%s/metrics/upkeep_test.prom" % root, content="upkeep_test 1\n")),
        ("notify", dict(subject="nothing to send")),
        ("postgresql_maintenance_info", dict(login)),
        ("postgresql_vacuum", dict(login, tables=["public.bloated"])),
        ("postgresql_reindex", dict(login, indexes=["public.bloated_pkey"])),
        ("dependency_inventory", dict(roots=[os.path.join(FIXTURES, "monorepo", "web", "legacy")])),
    ]
    # The audit reads what the inventory just registered, as the dependencies role has it do.
    return planned + [("dependency_audit", dict(inventories="{{ {'localhost': run_%d.trees} }}" % (len(planned) - 1),
                                                database=[os.path.join(FIXTURES, "advisories", "npm")]))]


def test_every_module_through_ansible_playbook_recap_and_results_agree(tmp_path, make_estate, pg_server, pg_db,
                                                                       collections_path):
    db, conn = pg_db
    pgserver.make_bloated_table(conn, "bloated")
    root = estate(tmp_path, make_estate)
    planned = tasks(root, pg_server, db)
    assert sorted(set(module for module, _args in planned)) == MODULES
    play_tasks = [dict(name="run %d %s" % (index, module), register="run_%d" % index,
                       **{"upkeep.maintenance." + module: args}) for index, (module, args) in enumerate(planned)]
    dump = ", ".join("'%d': run_%d" % (index, index) for index in range(len(planned)))
    entries = ", ".join("'%d': run_%d | upkeep.maintenance.upkeep_entries('%s')" % (index, index, module)
                        for index, (module, _args) in enumerate(planned))
    play_tasks.append({"name": "dump", "changed_when": False, "ansible.builtin.copy": dict(
        dest=str(root / "dump.json"), content="{{ {'results': {%s}, 'entries': {%s}} | to_json }}" % (dump, entries))})
    (root / "play.yml").write_text(yaml.safe_dump([dict(
        name="every module", hosts="localhost", connection="local", gather_facts=False,
        vars=dict(ansible_python_interpreter=sys.executable), tasks=play_tasks)]))
    process = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
                              str(root / "play.yml")], capture_output=True, text=True, check=False,
                             env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path, ANSIBLE_NOCOLOR="1"))
    assert process.returncode == 0, process.stdout[-4000:] + process.stderr
    recap = dict((key, int(value)) for key, value in re.findall(
        r"(\w+)=(\d+)", re.search(r"^localhost\s+: (.*)$", process.stdout, re.M).group(1)))
    dumped = json.loads((root / "dump.json").read_text())
    results = [dumped["results"][str(index)] for index in range(len(planned))]

    changed = [module for (module, _args), result in zip(planned, results) if result["changed"]]
    assert recap["skipped"] == 0 and recap["failed"] == 0
    assert recap["changed"] == len(changed), (recap, changed)
    assert recap["ok"] == len(planned) + 1
    # What each module did, as the recap counts it.
    assert changed == ["sqlite_backup", "sqlite_vacuum", "sqlite_retention", "backup_create", "backup_restore", "prune",
                       "maintenance_window", "maintenance_window", "prometheus_textfile", "postgresql_vacuum",
                       "postgresql_reindex"], changed
    for index, ((module, _args), result) in enumerate(zip(planned, results)):
        # Ansible itself adds failed (false here) and the invocation to a registered result.
        assert result["failed"] is False and not set(result) & (RESERVED - {"invocation", "failed"}), (
            module, sorted(set(result) & RESERVED))
        assert dumped["entries"][str(index)] == result.get("upkeep_results", []), module
    pruned = results[[module for module, _args in planned].index("prune")]
    assert pruned["counts"]["pruned"] == 4 and sorted(os.listdir(str(root / "logs"))) == ["app.log", "app.log.1", "app.log.2"]
    assert dumped["entries"][str([module for module, _args in planned].index("prune"))][0]["status"] == "changed"
