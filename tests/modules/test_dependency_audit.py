"""dependency_inventory and dependency_audit on a monorepo of real lock files (tests/fixtures/monorepo, written by npm 6
and 11, yarn 1 and 4, pnpm 8 and 9, uv, poetry, pip-compile and pipenv) against real advisories, unchanged
(tests/fixtures/advisories): the PyPA database's folders of those packages and reviewed GitHub advisories, one of
them withdrawn."""

import json
import os
import shutil
import socket
import stat
import tempfile
import urllib.request

import pytest

from osvmirror import Mirror

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MONOREPO = os.path.join(ROOT, "tests", "fixtures", "monorepo")
ADVISORIES = os.path.join(ROOT, "tests", "fixtures", "advisories")
DATABASE = [os.path.join(ADVISORIES, name) for name in ("pypi", "npm", "github-pypi")]

# What the fixtures hold, and what the advisories' own ranges say of them: (package, version, lock file relative to
# the monorepo) -> (the advisory ids of the finding, the first fixed version).
EXPECTED = {
    ("jinja2", "2.10", "services/api/uv.lock"): [(["GHSA-462w-v97r-4m45", "PYSEC-2019-217"], "2.10.1"),
                                                 (["PYSEC-2021-66"], "2.11.3")],
    ("requests", "2.28.1", "services/api/uv.lock"): [(["GHSA-j8r2-6x86-q33q", "PYSEC-2023-74"], "2.31.0")],
    ("jinja2", "2.10", "tools/legacy/requirements.txt"): [(["GHSA-462w-v97r-4m45", "PYSEC-2019-217"], "2.10.1"),
                                                          (["PYSEC-2021-66"], "2.11.3")],
    ("requests", "2.28.1", "tools/pipenv/Pipfile.lock"): [(["GHSA-j8r2-6x86-q33q", "PYSEC-2023-74"], "2.31.0")],
    ("body-parser", "1.20.1", "web/app/package-lock.json"): [(["GHSA-qwcr-r2fm-qrc7"], "1.20.3")],
    ("express", "4.18.2", "web/app/package-lock.json"): [(["GHSA-rv95-896h-c2vc"], "4.19.2")],
    ("lodash", "4.17.20", "web/app/package-lock.json"): [(["GHSA-29mw-wpgm-hmr9"], "4.17.21"),
                                                         (["GHSA-35jh-r3h4-6jhm"], "4.17.21")],
    ("axios", "1.5.1", "web/berry/yarn.lock"): [(["GHSA-wf5p-g6vw-rhxx"], "1.6.0")],
    ("glob-parent", "5.1.1", "web/berry/yarn.lock"): [(["GHSA-ww39-953v-wcq6"], "5.1.2")],
    ("qs", "6.10.1", "web/legacy/package-lock.json"): [(["GHSA-hrpp-h998-j3pp"], "6.10.3")],
    ("node-fetch", "2.6.6", "web/legacy/package-lock.json"): [(["GHSA-r683-j2x4-v87g"], "3.1.1")],
    ("jsonwebtoken", "8.5.1", "web/pnpm/pnpm-lock.yaml"): [(["GHSA-8cf7-32gw-wr33"], "9.0.0")],
    ("semver", "7.5.1", "web/pnpm/pnpm-lock.yaml"): [(["GHSA-c2qf-rxjj-qqgw"], "7.5.2")],
    ("minimist", "1.2.5", "web/yarn1/yarn.lock"): [(["GHSA-xvch-5gv4-984h"], "1.2.6")],
}


def inventory(run_module, *roots, **options):
    result = run_module("dependency_inventory", roots=list(roots), **options)
    assert result["rc"] == 0, result["msg"]
    return result


def audit(run_module, trees, **options):
    options.setdefault("database", DATABASE)
    result = run_module("dependency_audit", inventories=dict(dev1=trees), **options)
    assert result["rc"] == 0, result["msg"]
    return result


def by_path(result):
    return dict((os.path.relpath(tree["path"], MONOREPO), tree) for tree in result["trees"])


def test_every_lock_format_is_read_exactly(run_module):
    trees = by_path(inventory(run_module, MONOREPO))
    assert sorted(trees) == ["services/api", "services/worker", "tools/legacy", "tools/pipenv", "tools/venv/.venv",
                             "web/app", "web/berry", "web/legacy", "web/pnpm", "web/pnpm8", "web/yarn1"]
    direct = dict((path, sorted((package["name"], package["version"]) for package in tree["packages"] if package["direct"]))
                  for path, tree in trees.items())
    assert direct == {
        "services/api": [("jinja2", "2.10"), ("pytest", "7.4.0"), ("requests", "2.28.1")],
        "services/worker": [("jinja2", "3.1.4"), ("requests", "2.31.0")],
        "tools/legacy": [("click", "7.0"), ("jinja2", "2.10")],
        "tools/pipenv": [("requests", "2.28.1")],
        "tools/venv/.venv": [],
        "web/app": [("express", "4.18.2"), ("lodash", "4.17.20"), ("minimist", "1.2.6")],
        "web/berry": [("axios", "1.5.1"), ("glob-parent", "5.1.1")],
        "web/legacy": [("node-fetch", "2.6.6"), ("qs", "6.10.1")],
        "web/pnpm": [("jsonwebtoken", "8.5.1"), ("lodash", "4.17.21"), ("semver", "7.5.1")],
        "web/pnpm8": [("qs", "6.10.3"), ("semver", "7.5.2")],
        "web/yarn1": [("@babel/code-frame", "7.12.13"), ("lodash", "4.18.1"), ("minimist", "1.2.5")],
    }
    # Transitive packages, from each format: pip-compile's "# via", npm 6's nested tree, pnpm 9's peer of semver 5.
    packages = dict((path, dict(((package["name"], package["version"]), package) for package in tree["packages"]))
                    for path, tree in trees.items())
    assert packages["tools/legacy"][("markupsafe", "3.0.4")]["direct"] is False
    assert packages["web/pnpm"][("semver", "5.7.3")]["direct"] is False
    assert packages["web/app"][("body-parser", "1.20.1")]["direct"] is False
    assert packages["web/legacy"][("whatwg-url", "5.0.0")]["direct"] is False
    assert ("web-berry", "0.0.0-use.local") not in packages["web/berry"]  # the workspace itself
    # Names as each ecosystem compares them, licenses from what is installed.
    assert packages["tools/venv/.venv"][("jinja2", "2.10")]["license"] == "BSD"
    assert packages["web/app"][("lodash", "4.17.20")]["license"] == "MIT"
    assert [item["name"] for item in trees["tools/legacy"]["unpinned"]] == ["flask"]
    assert len(packages["web/app"]) == 73  # the lock's packages, each once though installed too


def test_the_known_vulnerabilities_are_found_with_their_fixed_versions_and_none_for_fixed_versions(run_module):
    trees = inventory(run_module, MONOREPO)["trees"]
    result = audit(run_module, trees, audit_level="low")
    found = {}
    for vulnerability in result["hosts"]["dev1"]["vulnerabilities"]:
        key = (vulnerability["package"], vulnerability["version"], os.path.relpath(vulnerability["source"], MONOREPO))
        found.setdefault(key, []).append((vulnerability["ids"], vulnerability["fixed"]))
    installed = dict((key[:2] + ("tools/venv/.venv/lib/python3.11/site-packages",), value)
                     for key, value in EXPECTED.items() if key[0] in ("jinja2", "requests"))
    expected = dict(EXPECTED)
    expected.update(installed)
    assert dict((key, sorted(value)) for key, value in found.items()) == dict(
        (key, sorted(value)) for key, value in expected.items())
    # One vulnerability known by three ids is one finding, its ids and aliases all named.
    [requests] = [item for item in result["hosts"]["dev1"]["vulnerabilities"]
                  if item["package"] == "requests" and item["source"].endswith("uv.lock")]
    assert requests["aliases"] == ["CVE-2023-32681"] and requests["severity"] == "moderate"
    # The withdrawn GHSA-27h2-hvpr-p74q of jsonwebtoken 8.5.1 is ignored; the one that stands is reported.
    assert not any("GHSA-27h2-hvpr-p74q" in item["ids"] for item in result["hosts"]["dev1"]["vulnerabilities"])
    assert result["database"]["withdrawn"] >= 1 and result["database"]["unreadable"] == []


def test_severities_become_statuses_and_audit_level_filters_as_npm_audit_does(run_module):
    trees = inventory(run_module, MONOREPO)["trees"]
    entries = audit(run_module, trees)["hosts"]["dev1"]["upkeep_results"]
    vulnerabilities = [entry for entry in entries if entry["check"] == "dependency_vulnerability"]
    minimist = [entry for entry in vulnerabilities if entry["target"].startswith("minimist@1.2.5")][0]
    assert minimist["status"] == "critical" and "upgrade minimist to 1.2.6" in minimist["summary"]
    lodash = dict((entry["details"]["ids"][0], entry["status"]) for entry in vulnerabilities
                  if entry["target"].startswith("lodash@4.17.20"))
    assert lodash == {"GHSA-35jh-r3h4-6jhm": "critical", "GHSA-29mw-wpgm-hmr9": "warning"}  # high, moderate
    high = audit(run_module, trees, audit_level="high")["hosts"]["dev1"]["vulnerabilities"]
    assert high and all(item["severity"] in ("high", "critical") for item in high)
    assert ("lodash", "GHSA-29mw-wpgm-hmr9") not in [(item["package"], item["ids"][0]) for item in high]


def test_broken_lock_files_unreadable_folders_and_bad_advisories_are_entries_and_the_rest_is_audited(run_module):
    work = tempfile.mkdtemp(prefix="upkeep-deps-")
    try:
        os.chmod(work, 0o755)
        shutil.copytree(os.path.join(MONOREPO, "web", "legacy"), os.path.join(work, "legacy"))
        (broken, future, locked) = (os.path.join(work, name) for name in ("broken", "future", "locked"))
        for folder in (broken, future, locked):
            os.mkdir(folder)
        with open(os.path.join(broken, "package-lock.json"), "w") as handle:
            handle.write('{"lockfileVersion": 3, "packages": {')
        with open(os.path.join(future, "package-lock.json"), "w") as handle:
            json.dump(dict(lockfileVersion=4, packages={}), handle)
        shutil.copy(os.path.join(MONOREPO, "web", "yarn1", "yarn.lock"), locked)
        os.chmod(locked, 0)
        advisories = os.path.join(work, "advisories")
        shutil.copytree(os.path.join(ADVISORIES, "npm"), advisories)
        with open(os.path.join(advisories, "GHSA-qwcr-r2fm-qrc7.json")) as handle:
            bad = json.load(handle)
        bad["id"], bad["affected"][0]["package"]["name"] = "GHSA-test-bad-range", "qs"
        bad["affected"][0]["ranges"][0]["events"] = [{"introduced": "not a version"}, {"fixed": "6.10.3"}]
        with open(os.path.join(advisories, "bad-range.json"), "w") as handle:
            json.dump(bad, handle)
        with open(os.path.join(advisories, "not-json.json"), "w") as handle:
            handle.write("{ this is not json")

        result = inventory(run_module, work, user="nobody")
        problems = dict((os.path.basename(os.path.dirname(problem["path"])) if problem["path"].endswith(".json")
                         else os.path.basename(problem["path"]), (problem["status"], problem["message"]))
                        for problem in result["problems"])
        assert problems["broken"][0] == "failed" and problems["broken"][1].startswith("not JSON")
        assert problems["future"] == ("warning", "lockfileVersion 4 is not one of 1, 2 and 3")
        assert problems["locked"][0] == "warning" and "Permission denied" in problems["locked"][1]
        assert [os.path.basename(tree["path"]) for tree in result["trees"]] == ["legacy"]

        audited = audit(run_module, result["trees"], database=[advisories])
        packages = [(item["package"], item["ids"]) for item in audited["hosts"]["dev1"]["vulnerabilities"]]
        assert ("qs", ["GHSA-hrpp-h998-j3pp"]) in packages and ("node-fetch", ["GHSA-r683-j2x4-v87g"]) in packages
        assert [item["file"].endswith("not-json.json") for item in audited["database"]["unreadable"]] == [True]
        notes = [entry for entry in audited["hosts"]["dev1"]["upkeep_results"] if entry["check"] == "dependency_advisories"]
        assert notes[0]["status"] == "warning" and "not-json.json" in notes[0]["summary"]
    finally:
        os.chmod(os.path.join(work, "locked"), 0o755)
        shutil.rmtree(work)


def test_licenses_against_an_allow_list(run_module):
    trees = inventory(run_module, os.path.join(MONOREPO, "tools"), os.path.join(MONOREPO, "web", "app"))["trees"]
    result = audit(run_module, trees, allowed_licenses=["MIT", "Apache-2.0", "BSD-3-Clause", "ISC"])
    licenses = dict((item["package"], (item["verdict"], item["license"])) for item in result["hosts"]["dev1"]["licenses"])
    # Jinja2 2.10 says only "BSD", which names no single license; requests' "Apache 2.0" is Apache-2.0.
    assert licenses == {"jinja2": ("disallowed", "BSD")}
    strict = audit(run_module, trees, allowed_licenses=["MIT"])["hosts"]["dev1"]["licenses"]
    assert ("requests", "disallowed") in [(item["package"], item["verdict"]) for item in strict]


def index_reachable(url):
    try:
        urllib.request.urlopen(url, timeout=5).read(1)
        return True
    except OSError:
        return False


def test_outdated_packages_against_the_real_indexes(run_module):
    if not (index_reachable("https://pypi.org/pypi/requests/json") and index_reachable("https://registry.npmjs.org/qs")):
        pytest.skip("PyPI or the npm registry cannot be reached from here")
    trees = inventory(run_module, os.path.join(MONOREPO, "tools", "pipenv"), os.path.join(MONOREPO, "web", "legacy"))["trees"]
    result = audit(run_module, trees, outdated=True, outdated_days=30)
    outdated = dict((item["package"], item) for item in result["hosts"]["dev1"]["outdated"])
    assert tuple(int(part) for part in outdated["requests"]["latest"].split(".")[:2]) >= (2, 32)
    assert outdated["requests"]["days"] > 365
    assert outdated["qs"]["newer"] > 10


def test_an_index_that_cannot_be_reached_is_a_warning_not_a_failure(run_module):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = "http://127.0.0.1:%d" % probe.getsockname()[1]
    trees = inventory(run_module, os.path.join(MONOREPO, "tools", "pipenv"))["trees"]
    result = audit(run_module, trees, outdated=True, pypi_url=closed, timeout=3)
    warnings = [entry for entry in result["hosts"]["dev1"]["upkeep_results"] if entry["check"] == "dependency_outdated"]
    assert warnings and all(entry["status"] == "warning" for entry in warnings)
    assert "outdated check skipped" in warnings[0]["summary"] and result["hosts"]["dev1"]["vulnerabilities"]


def test_the_osv_api_of_a_mirror_and_a_mirror_that_fails(run_module):
    trees = inventory(run_module, os.path.join(MONOREPO, "web", "legacy"))["trees"]
    with Mirror([os.path.join(ADVISORIES, "npm")]) as mirror:
        result = audit(run_module, trees, database=[], api_url=mirror.url)
    assert sorted(item["package"] for item in result["hosts"]["dev1"]["vulnerabilities"]) == ["node-fetch", "qs"]
    assert mirror.requests[0] == "/v1/querybatch" and "/v1/vulns/GHSA-hrpp-h998-j3pp" in mirror.requests
    with Mirror([os.path.join(ADVISORIES, "npm")], fail=True) as broken:
        degraded = audit(run_module, trees, api_url=broken.url, database=[os.path.join(ADVISORIES, "npm")])
    notes = [entry for entry in degraded["hosts"]["dev1"]["upkeep_results"] if entry["check"] == "dependency_advisories"]
    assert notes[0]["status"] == "warning" and "only the local database was used" in notes[0]["summary"]
    assert len(degraded["hosts"]["dev1"]["vulnerabilities"]) == 2


def test_contradictions_fail_before_anything_is_read(run_module):
    assert run_module("dependency_audit", inventories={})["msg"].startswith("no advisory source")
    missing = run_module("dependency_audit", inventories={}, database=["/nonexistent/advisories"])
    assert missing["failed"] and "cannot read the advisory database" in missing["msg"]
    assert run_module("dependency_inventory", roots=[MONOREPO], max_depth=-1)["msg"] == "max_depth must be 0 or more"
    assert stat.S_ISDIR(os.stat(MONOREPO).st_mode)
