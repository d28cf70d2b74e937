"""The dependency audit against hostile data: a lock file nested a hundred thousand levels deep or a gigabyte large, an
advisory whose range is of another ecosystem's kind or does not read, an inventory carrying a list for a version. Each
is an entry of its own, the other projects and hosts are still audited, nothing is passed over in silence, and memory
stays bounded (the module's peak resident memory is measured)."""

import json
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NPM_ADVISORIES = os.path.join(ROOT, "tests", "fixtures", "advisories", "npm")
PACKAGE_LOCK = {"name": "app", "version": "1.0.0", "lockfileVersion": 3, "requires": True, "packages": {
    "": {"name": "app", "version": "1.0.0", "dependencies": {"node-fetch": "^2.6.0"}},
    "node_modules/node-fetch": {"version": "2.6.0", "license": "MIT"}}}


def project(folder, lock):
    folder.mkdir(parents=True)
    (folder / "package-lock.json").write_text(json.dumps(lock))
    return folder


def audit(run_module, inventories, database, **options):
    result = run_module("dependency_audit", inventories=inventories, database=[str(database)], **options)
    assert result["rc"] == 0, result["msg"]
    return result


def trees_of(*packages):
    return [dict(path="/srv/app", ecosystem=packages[0]["ecosystem"], files=["/srv/app/lock"],
                 packages=[dict(package, source="/srv/app/lock", direct=True) for package in packages], unpinned=[])]


NESTED = '{"packages": ' + "[" * 100000 + "]" * 100000 + "}"


@pytest.mark.parametrize("name", ["package-lock.json", "Pipfile.lock"])
def test_a_lock_file_nested_a_hundred_thousand_levels_is_an_entry_and_the_others_are_read(run_module, tmp_path, name):
    project(tmp_path / "good", PACKAGE_LOCK)
    deep = tmp_path / "deep"
    deep.mkdir()
    (deep / name).write_text(NESTED)
    result = run_module("dependency_inventory", roots=[str(tmp_path)])
    assert result["rc"] == 0, result["msg"]
    assert [(tree["path"], [package["name"] for package in tree["packages"]]) for tree in result["trees"]] == [
        (str(tmp_path / "good"), ["node-fetch"])]
    [problem] = [entry for entry in result["upkeep_results"] if entry["status"] != "ok"]
    assert problem["target"] == str(deep / name) and "nested too deeply" in problem["summary"]


def test_a_package_json_nested_a_hundred_thousand_levels_leaves_its_lock_read(run_module, tmp_path):
    """package.json says only which dependencies are direct: the lock beside it is read all the same."""
    deep = project(tmp_path / "deep", PACKAGE_LOCK)
    (deep / "package.json").write_text(NESTED)
    result = run_module("dependency_inventory", roots=[str(tmp_path)])
    assert result["rc"] == 0, result["msg"]
    [tree] = result["trees"]
    assert [(package["name"], package["version"]) for package in tree["packages"]] == [("node-fetch", "2.6.0")]


def test_a_gigabyte_lock_file_is_refused_before_it_is_read(run_module_measured, tmp_path):
    folder = tmp_path / "huge"
    folder.mkdir()
    with open(str(folder / "package-lock.json"), "wb") as stream:
        stream.truncate(1024 ** 3)  # sparse: a gigabyte that takes no disk
    result, peak = run_module_measured("dependency_inventory", roots=[str(tmp_path)])
    [problem] = [entry for entry in result["upkeep_results"] if entry["status"] != "ok"]
    assert "larger than 64 MiB" in problem["summary"]
    assert peak < 100, "the module took %d MiB to refuse a sparse gigabyte" % peak


def test_a_semver_range_on_a_pypi_package_is_evaluated_by_semantic_versioning(run_module, tmp_path):
    database = tmp_path / "advisories"
    database.mkdir()
    (database / "PYSEC-0000-1.json").write_text(json.dumps(dict(
        id="PYSEC-0000-1", modified="2026-01-01T00:00:00Z", summary="a flaw",
        affected=[dict(package=dict(ecosystem="PyPI", name="example"),
                       ranges=[dict(type="SEMVER", events=[{"introduced": "0"}, {"fixed": "0.5.0"}])])])))
    result = audit(run_module, dict(web1=trees_of(dict(ecosystem="PyPI", name="example", version="0.4.0"))), database)
    [found] = result["hosts"]["web1"]["vulnerabilities"]
    assert (found["ids"], found["fixed"]) == (["PYSEC-0000-1"], "0.5.0")


def test_a_host_whose_inventory_carries_a_list_for_a_version_leaves_only_that_package_out(run_module):
    inventories = dict(
        web1=trees_of(dict(ecosystem="npm", name="node-fetch", version=["2.6.0"]),
                      dict(ecosystem="npm", name="qs", version="6.10.1")),
        web2=trees_of(dict(ecosystem="npm", name="node-fetch", version="2.6.0")))
    result = audit(run_module, inventories, NPM_ADVISORIES)
    assert [item["package"] for item in result["hosts"]["web2"]["vulnerabilities"]] == ["node-fetch"]
    assert [item["package"] for item in result["hosts"]["web1"]["vulnerabilities"]] == ["qs"]
    [left_out] = [entry for entry in result["hosts"]["web1"]["upkeep_results"] if entry["check"] == "dependency_inventory"]
    assert left_out["status"] == "warning" and "1 package of the inventory left out" in left_out["summary"]


@pytest.mark.parametrize("version, fixed", [("2.6.0", "3.1.1"), ("2.6.7", "3.1.1"), ("3.0.0", "3.1.1"), ("3.1.1", None)])
def test_a_range_with_a_partial_version_is_read_as_npm_reads_it(run_module, version, fixed):
    """GHSA-r683-j2x4-v87g opens a range at 1.0, which npm's semver reads as 1.0.0: 2.6.7 and 3.0.0 are affected."""
    result = audit(run_module, dict(web1=trees_of(dict(ecosystem="npm", name="node-fetch", version=version))),
                   NPM_ADVISORIES)
    found = [(item["ids"], item["fixed"]) for item in result["hosts"]["web1"]["vulnerabilities"]]
    assert found == ([(["GHSA-r683-j2x4-v87g"], fixed)] if fixed else [])


def test_a_range_or_a_version_that_does_not_read_is_a_warning_naming_the_advisory(run_module, tmp_path):
    database = tmp_path / "advisories"
    database.mkdir()
    (database / "GHSA-0000-0000-0001.json").write_text(json.dumps(dict(
        id="GHSA-0000-0000-0001", modified="2026-01-01T00:00:00Z", summary="a flaw",
        database_specific=dict(severity="LOW"),
        affected=[dict(package=dict(ecosystem="npm", name="left-pad"),
                       ranges=[dict(type="ECOSYSTEM", events=[{"introduced": "0"}, {"fixed": "one point two"}])])])))
    result = audit(run_module, dict(web1=trees_of(dict(ecosystem="npm", name="left-pad", version="1.1.0"),
                                                  dict(ecosystem="npm", name="left-pad", version="not-a-version",
                                                       source="/srv/other"))),
                   database, audit_level="critical")
    host = result["hosts"]["web1"]
    assert host["vulnerabilities"] == []
    unsure = [(item["version"], item["problems"]) for item in host["unevaluated"]]
    assert unsure == [("1.1.0", ["'one point two' is not a semantic version"]),
                      ("not-a-version", ["'not-a-version' is not a semantic version"])]
    entries = [entry for entry in host["upkeep_results"] if entry["check"] == "dependency_vulnerability"]
    assert [entry["status"] for entry in entries] == ["warning", "warning"]
    assert entries[0]["summary"].startswith("GHSA-0000-0000-0001, low: could not tell whether left-pad 1.1.0 is affected")
    assert host["upkeep_results"][0]["summary"].endswith("0 vulnerabilities, 2 advisories that could not be evaluated")
