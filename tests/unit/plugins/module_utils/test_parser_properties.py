"""Property-based tests of every parser of outside input: whatever Hypothesis generates, a parser returns a result or
raises the one documented error (ValueError), never anything a module would show as a traceback; and adversarial
inputs eight times larger take no more than about eight times as long (a quadratic parser takes 64 times).

Parsers: PEM/DER scanning, endpoint strings and dicts, durations, sizes and modes, log time stamps, env file lines,
checksum sidecars and manifests, health endpoints, lock files and requirements files, the members of an archive to
restore; and the orders they rely on,
checked against an oracle: PEP 440 against the packaging library, OSV ranges against plain comparisons, CVSS v3
scores against published ones. `pytest --hypothesis-show-statistics` prints the cases run."""

import io
import json
import os
import shutil
import tarfile
import tempfile
import time

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ansible_collections.upkeep.maintenance.plugins.module_utils import (
    _archives,
    _backups,
    _certificates,
    _files,
    _health,
    _lockfiles,
    _logs,
    _osv,
    _units,
    _versions,
)
from ansible_collections.upkeep.maintenance.plugins.modules.dependency_inventory import Inventory
from ansible_collections.upkeep.maintenance.plugins.modules.security_review import env_assignment

CASES = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PEM_PIECES = [b"-----BEGIN CERTIFICATE-----\n", b"-----END CERTIFICATE-----\n", b"-----BEGIN PRIVATE KEY-----\n",
              b"-----END ", b"-----", b"MIIB", b"\x30\x82", b"\n", b"=", b"-----BEGIN X509 CERTIFICATE-----"]


def linear(parse, make, size=4000, factor=8, slack=3.0):
    """parse(make(size * factor)) takes at most factor * slack times parse(make(size)): linear, with room for noise."""
    def best(data):
        times = []
        for _attempt in range(3):
            started = time.perf_counter()
            parse(data)
            times.append(time.perf_counter() - started)
        return min(times)
    small, large = best(make(size)), best(make(size * factor))
    assert large <= max(small, 0.001) * factor * slack, (small, large)


@CASES
@given(st.lists(st.one_of(st.sampled_from(PEM_PIECES), st.binary(max_size=40)), max_size=30).map(b"".join))
def test_pem_and_der_scanning_never_raises(data):
    found = _certificates.certificates_in(data)
    assert all(isinstance(certificate, _certificates.CertificateError) or hasattr(certificate, "serial_number")
               for _position, certificate in found)
    assert [position for position, _certificate in found] == list(range(1, len(found) + 1))


def test_pem_scanning_is_linear_in_begin_lines_without_end():
    linear(_certificates.certificates_in, lambda n: b"-----BEGIN CERTIFICATE-----\n" * (n // 10))
    linear(_certificates.certificates_in, lambda n: b"-----BEGIN CERTIFICATE-----\nMIIB" + b"A" * n)


ENDPOINT_TEXT = st.one_of(
    st.text(max_size=40),
    st.builds(lambda host, port: "%s:%s" % (host, port), st.text(max_size=20), st.text(max_size=8)),
    st.builds(lambda host, port: "[%s]:%s" % (host, port), st.text(max_size=20), st.integers(-10, 100000)))
ENDPOINT_DICT = st.fixed_dictionaries({}, optional=dict(
    host=st.one_of(st.text(max_size=20), st.integers(), st.none()), port=st.one_of(st.integers(-5, 70000), st.text(max_size=6), st.booleans(), st.none()),
    starttls=st.one_of(st.sampled_from(_certificates.STARTTLS_PROTOCOLS + ("x",)), st.none()),
    timeout=st.one_of(st.floats(allow_nan=True), st.text(max_size=4), st.none()), server_name=st.text(max_size=10)))


@CASES
@given(st.one_of(ENDPOINT_TEXT, ENDPOINT_DICT))
def test_endpoints_parse_or_raise_value_error_and_ports_stay_in_range(spec):
    try:
        endpoint = _certificates.parse_endpoint(spec, 10)
    except ValueError:
        return
    assert 1 <= endpoint["port"] <= 65535 and endpoint["timeout"] > 0 and endpoint["host"]
    assert _certificates.endpoint_label(endpoint)


@CASES
@given(st.one_of(st.text(max_size=20), st.integers(-10, 10 ** 6), st.floats(allow_nan=False)))
def test_durations_sizes_and_modes_parse_or_raise_value_error(value):
    for parse in (_units.parse_size, _files.parse_mode):
        try:
            parse(value)
        except ValueError:
            pass
    seconds = _try(_units.parse_duration, value)
    assert seconds is None or _units.human_duration(seconds)


def test_duration_and_size_parsing_is_linear():
    linear(lambda text: _try(_units.parse_duration, text), lambda n: " " * n + "1" * n + "x")
    linear(lambda text: _try(_units.parse_size, text), lambda n: "1" + "0" * n + " " * n + "kx")


def _try(parse, value):
    try:
        return parse(value)
    except ValueError:
        return None


STAMPED = st.one_of(
    st.text(max_size=80),
    st.builds(lambda y, mo, d, h, mi, s, zone, rest: "%04d-%02d-%02dT%02d:%02d:%02d%s %s" % (y, mo, d, h, mi, s, zone, rest),
              st.integers(0, 9999), st.integers(0, 99), st.integers(0, 99), st.integers(0, 99), st.integers(0, 99),
              st.integers(0, 99), st.sampled_from(["", "Z", "+99:99", "-05:00", "+0100"]), st.text(max_size=20)),
    st.builds(lambda mon, d, rest: "%s %2d 25:61:99 %s" % (mon, d, rest), st.sampled_from(list(_logs.MONTHS) + ["Foo"]),
              st.integers(0, 99), st.text(max_size=10)),
    st.builds(lambda d, mon, y: '1.2.3.4 - - [%02d/%s/%04d:99:99:99 +9999] "GET /"' % (d, mon, y),
              st.integers(0, 99), st.sampled_from(list(_logs.MONTHS)), st.integers(0, 9999)))


@CASES
@given(STAMPED)
def test_log_time_stamps_give_a_moment_or_none(line):
    moment = _logs.line_time(line, time.time())
    assert moment is None or isinstance(moment, (int, float))


def test_log_time_stamps_are_read_in_linear_time():
    linear(lambda line: _logs.line_time(line, time.time()), lambda n: "1" * n)
    linear(lambda line: _logs.line_time(line, time.time()), lambda n: "x" * n + " [01/Jan/2026:00:00:00 +0000]")


@CASES
@given(st.text(max_size=80))
def test_env_lines_give_a_key_and_value_or_none(line):
    assignment = env_assignment(line)
    if assignment is not None:
        key, value = assignment
        assert key and "=" not in key and not key[0].isdigit() and isinstance(value, str)


def test_env_lines_are_read_in_linear_time():
    linear(env_assignment, lambda n: "KEY=" + " " * n + "x")
    linear(env_assignment, lambda n: "export" + " " * n + "KEY=" + "'" * n)


@CASES
@given(st.binary(max_size=300))
def test_checksum_sidecars_and_manifests_of_any_bytes_are_read(content):
    folder = tempfile.mkdtemp(prefix="upkeep-sidecar-")
    try:
        backup = os.path.join(folder, "app.db")
        with open(backup + ".sha256", "wb") as handle:
            handle.write(content)
        digest = _files.read_checksum(backup)
        assert digest == "" or (len(digest) == 64 and digest == digest.lower())
        with open(os.path.join(folder, "SHA256SUMS"), "wb") as handle:
            handle.write(content)
        assert isinstance(_backups.read_manifest(os.path.join(folder, "SHA256SUMS")), dict)
    finally:
        for name in os.listdir(folder):
            os.unlink(os.path.join(folder, name))
        os.rmdir(folder)


@CASES
@given(st.lists(st.one_of(st.text(max_size=20), st.fixed_dictionaries({}, optional=dict(
    url=st.one_of(st.text(max_size=20), st.none()), status=st.one_of(st.integers(), st.text(max_size=5)),
    max_seconds=st.one_of(st.floats(), st.text(max_size=5)), validate_certs=st.booleans()))), max_size=4))
def test_health_endpoints_parse_or_raise_value_error(endpoints):
    try:
        specs = _health.endpoint_specs(endpoints)
    except ValueError:
        return
    for spec in specs:
        assert spec["url"] and 100 <= spec["status"] <= 599 and spec["max_seconds"] > 0


LOCK_PIECES = {
    "package-lock.json": ['{', '}', '"lockfileVersion": ', '1', '2', '3', '"packages": {', '"dependencies": {', '"": {',
                          '"node_modules/a": {', '"version": "1.0.0"', '"name": "x"', ',', '[', ']', '"link": true', 'null'],
    "yarn.lock": ["# yarn lockfile v1\n", "__metadata:\n", "  version: 6\n", '"a@^1.0.0":\n', "a@npm:1.0.0:\n",
                  '  version "1.0.0"\n', "  version: 1.0.0\n", '  resolution: "a@npm:1.0.0"\n', "  dependencies:\n",
                  '    b "^2"\n', "\n", ":", '"'],
    "pnpm-lock.yaml": ["lockfileVersion: '9.0'\n", "lockfileVersion: 5.4\n", "importers:\n", "  .:\n", "    dependencies:\n",
                       "      a:\n", "        version: 1.0.0\n", "packages:\n", "  a@1.0.0:\n", "  /b/2.0.0:\n",
                       "  /c@3.0.0(d@1.0.0):\n", "dependencies:\n", "  a: 1.0.0\n", "\n", "'"],
    "poetry.lock": ["[[package]]\n", 'name = "a"\n', 'version = "1.0"\n', "files = [\n", '  {file = "x"},\n', "]\n",
                    "[metadata]\n", '"', "=", "\n"],
    "uv.lock": ["version = 1\n", "[[package]]\n", 'name = "a"\n', 'version = "1.0"\n', 'source = { virtual = "." }\n',
                "dependencies = [\n", '    { name = "b" },\n', "]\n", "[package.dev-dependencies]\n", "\n"],
    "Pipfile.lock": ['{', '}', '"default": {', '"develop": {', '"a": {', '"version": "==1.0"', '"version": "1.0"', ',', 'null'],
}


def read_lock_file(reader, name, content):
    """reader's Packages of a file holding content, or None for a LockfileError."""
    folder = tempfile.mkdtemp(prefix="upkeep-lock-")
    try:
        path = os.path.join(folder, name)
        with open(path, "w") as handle:
            handle.write(content)
        try:
            return reader(path)
        except _lockfiles.LockfileError:
            return None
    finally:
        shutil.rmtree(folder)


@CASES
@given(st.sampled_from(sorted(LOCK_PIECES)).flatmap(lambda name: st.tuples(
    st.just(name), st.lists(st.one_of(st.sampled_from(LOCK_PIECES[name]), st.text(max_size=8)), max_size=40).map("".join))))
def test_lock_files_of_any_content_give_packages_or_a_lockfile_error(case):
    name, content = case
    found = read_lock_file(_lockfiles.READERS[name], name, content)
    assert found is None or all(package["name"] is not None and package["version"] for package in found.packages)


@CASES
@given(st.text(max_size=200))
def test_requirements_files_of_any_content_give_packages(content):
    found = read_lock_file(_lockfiles.requirements_file, "requirements.txt", content)
    assert found is None or all(package["version"] for package in found.packages)


# JSON of any shape: scalars of every type, and lists and objects nested to any depth, some far deeper than a lock file
# ever is (the JSON decoder gives up past about a thousand levels).
JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=10)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=30)
JSON_LOCKS = ("package-lock.json", "npm-shrinkwrap.json", "Pipfile.lock")


@CASES
@given(st.sampled_from(JSON_LOCKS), st.one_of(
    JSON_VALUES.map(json.dumps),
    st.tuples(st.sampled_from(["[", '{"packages": {"a": ', '{"dependencies": ']), st.integers(0, 5000)).map(
        lambda opening: opening[0] + "[" * opening[1] + "]" * opening[1] + ("" if opening[0] == "[" else "}") * (
            1 + (opening[0] == '{"packages": {"a": ')))))
def test_json_lock_files_of_any_shape_and_nesting_give_packages_or_a_problem(name, content):
    """What the inventory does with a file: its reader gives packages, or an error it reports for that file alone."""
    inventory = Inventory(dict(exclude=[], ecosystems=["python", "node"], installed=True, max_depth=8))
    folder = tempfile.mkdtemp(prefix="upkeep-lock-")
    try:
        path = os.path.join(folder, name)
        with open(path, "w") as handle:
            handle.write(content)
        inventory.read(folder, _versions.NPM if name != "Pipfile.lock" else _versions.PYPI, _lockfiles.READERS[name], path)
    finally:
        shutil.rmtree(folder)
    assert inventory.trees or [problem["path"] for problem in inventory.problems] == [path]
    assert all(isinstance(package["name"], str) and isinstance(package["version"], str)
               for tree in inventory.trees.values() for package in tree["packages"])


OSV_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 10 ** 12), st.floats(allow_nan=False), st.text(max_size=12),
                       st.sampled_from(["0", "1.0", "1", "v1.2.3", "1.2.3-rc.1", "1!2.0", "2.0.post1", "=1.2.3", ""]),
                       st.lists(st.text(max_size=3), max_size=2), st.dictionaries(st.text(max_size=3), st.none(), max_size=2))
OSV_EVENTS = st.lists(st.one_of(st.dictionaries(st.sampled_from(["introduced", "fixed", "last_affected", "limit", "other"]),
                                                OSV_VALUES, min_size=1, max_size=2), OSV_VALUES), max_size=6)
OSV_RANGES = st.one_of(st.fixed_dictionaries(dict(type=st.sampled_from(["ECOSYSTEM", "SEMVER", "GIT", None, 3]),
                                                  events=st.one_of(OSV_EVENTS, OSV_VALUES))), OSV_VALUES)


@CASES
@given(st.sampled_from([_versions.PYPI, _versions.NPM]), st.lists(OSV_RANGES, max_size=3),
       st.one_of(st.none(), st.lists(OSV_VALUES, max_size=3)), st.one_of(OSV_VALUES, st.sampled_from(["1.0.0", "2.3"])))
def test_osv_ranges_of_any_values_affect_a_version_or_say_why_they_cannot_tell(ecosystem, ranges, versions, version):
    affected = dict(package=dict(ecosystem=ecosystem, name="pkg"), ranges=ranges)
    if versions is not None:
        affected["versions"] = versions
    database = _osv.Database()
    database.add(dict(id="GHSA-xxxx-xxxx-xxxx", affected=[affected]))
    for advisory, _affected, problem in database.matches(ecosystem, "pkg", version):
        finding = _osv.finding(dict(names={advisory["id"]}, matches=[(advisory, affected, problem)]), ecosystem, version)
        assert finding["unsure"] == bool(problem) and (not problem or finding["problems"] == [problem])


def test_lock_files_are_read_in_linear_time():
    linear(lambda content: read_lock_file(_lockfiles.pnpm_lock, "pnpm-lock.yaml", content),
           lambda n: "lockfileVersion: '9.0'\npackages:\n" + "".join("  p%d@1.0.%d:\n    resolution: {}\n" % (i, i) for i in range(n // 20)))
    linear(lambda content: read_lock_file(_lockfiles.yarn_lock, "yarn.lock", content),
           lambda n: "# yarn lockfile v1\n" + '"a@^1", ' * (n // 8) + ":\n")
    linear(lambda content: read_lock_file(_lockfiles.requirements_file, "requirements.txt", content),
           lambda n: "a" * n + "==1\n" + "x==1 \\\n" * (n // 10))


PEP440_VERSIONS = st.builds(
    lambda epoch, release, pre, post, dev, local: "%s%s%s%s%s%s" % (
        "%d!" % epoch if epoch else "", ".".join(str(part) for part in release), pre, post, dev, local),
    st.integers(0, 2), st.lists(st.integers(0, 12), min_size=1, max_size=4),
    st.sampled_from(["", "a1", "b2", "rc1", "rc10", "alpha3", "c4", "-pre5"]), st.sampled_from(["", ".post1", "-3", ".post0"]),
    st.sampled_from(["", ".dev0", ".dev4"]), st.sampled_from(["", "+local", "+1.abc", "+ubuntu2"]))


@CASES
@given(PEP440_VERSIONS, PEP440_VERSIONS)
def test_pep440_order_agrees_with_the_packaging_library(left, right):
    from packaging.version import Version
    ours = (_versions.pep440_key(left) > _versions.pep440_key(right)) - (_versions.pep440_key(left) < _versions.pep440_key(right))
    theirs = (Version(left) > Version(right)) - (Version(left) < Version(right))
    assert ours == theirs, (left, right)


def test_semantic_versions_order_as_the_specification_lists_them():
    # https://semver.org/#spec-item-11, in increasing precedence.
    ordered = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11",
               "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "2.0.0"]
    keys = [_versions.semver_key(version) for version in ordered]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert _versions.semver_key("1.0.0+build.5") == _versions.semver_key("1.0.0")


@CASES
@given(PEP440_VERSIONS, PEP440_VERSIONS, PEP440_VERSIONS, st.booleans())
def test_osv_ranges_affect_exactly_the_versions_between_their_events(version, introduced, fixed, last_affected):
    from packaging.version import Version
    if Version(introduced) >= Version(fixed):
        introduced, fixed = fixed, introduced
    closing = "last_affected" if last_affected else "fixed"
    spec = dict(type="ECOSYSTEM", events=[{"introduced": introduced}, {closing: fixed}])
    # "0" introduces a vulnerability before every version there is, pre-releases of 0 included.
    inside = (introduced == "0" or Version(introduced) <= Version(version)) and (
        Version(version) <= Version(fixed) if last_affected else Version(version) < Version(fixed))
    assert _versions.range_affects(spec, _versions.PYPI, version) == inside


def test_cvss3_base_scores_match_the_published_ones():
    published = {  # vectors and scores as NVD and GitHub publish them
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H": 9.8,
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H": 7.5,
        "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:H/I:N/A:N": 5.3,
        "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N": 6.4,
        "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H": 7.8,
        "CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N": 6.1,
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N": 0.0,
    }
    assert dict((vector, _osv.cvss3_score(vector)) for vector in published) == published
    assert _osv.cvss3_score("CVSS:3.1/AV:X") is None


MEMBER_NAMES = st.lists(st.sampled_from(["appdata", "..", ".", "", "a", "b", "/", "c d", "\u00e9", "archive.tar"]), min_size=1,
                        max_size=5).map("/".join)
MEMBERS = st.lists(st.tuples(MEMBER_NAMES, st.sampled_from(["file", "dir", "symlink", "hardlink"]), MEMBER_NAMES),
                   max_size=8)


@CASES
@given(MEMBERS)
@example([("appdata/a", "hardlink", "appdata/../../archive.tar")])
@example([("appdata/a", "symlink", "../.."), ("appdata/b", "hardlink", "appdata/a/archive.tar")])
@example([("appdata/a", "symlink", "/"), ("appdata/a/b", "file", "")])
@example([("appdata/../b", "file", ""), ("/b", "dir", "")])
def test_archive_members_are_restored_inside_the_folder_or_refused(members):
    """Whatever names, links and hard links an archive holds, restoring it writes nothing outside the new folder:
    it is refused (FormatError, or the OSError of a name given twice) or restored inside."""
    sandbox = tempfile.mkdtemp()
    try:
        archive = os.path.join(sandbox, "archive.tar")
        with tarfile.open(archive, "w") as writer:
            top = tarfile.TarInfo("appdata")
            top.type = tarfile.DIRTYPE
            writer.addfile(top)
            for name, kind, target in members:
                info = tarfile.TarInfo(name)
                info.type = dict(file=tarfile.REGTYPE, dir=tarfile.DIRTYPE, symlink=tarfile.SYMTYPE,
                                 hardlink=tarfile.LNKTYPE)[kind]
                info.linkname = target if kind in ("symlink", "hardlink") else ""
                writer.addfile(info, io.BytesIO(b"") if kind == "file" else None)
        folder = os.path.join(sandbox, "outer", "restored")
        os.makedirs(folder)
        # The module checks the archive first; extract is also safe on its own, as backup_verify's restore test uses it.
        for read in (lambda: _archives.archive_state(archive, owners=False), lambda: _archives.extract(archive, folder, owners=False)):
            try:
                read()
            except (_backups.FormatError, OSError):
                pass
        # A hard link to a file outside (the archive itself, /etc/passwd) would leave an inode with links not found here.
        inodes = {}
        for root, _folders, files in os.walk(folder):
            for name in files:
                info = os.lstat(os.path.join(root, name))
                inodes.setdefault(info.st_ino, [info.st_nlink, 0])[1] += 1
        assert all(links == found for links, found in inodes.values()), inodes
        assert sorted(os.listdir(sandbox)) == ["archive.tar", "outer"]
        assert os.listdir(os.path.join(sandbox, "outer")) == ["restored"]
    finally:
        # Folders restored without write permission are opened up to be removed; a link is never followed (one to
        # "/" would hand the chmod to the machine's root folder).
        for root, folders, _files in os.walk(sandbox):
            for name in folders:
                if not os.path.islink(os.path.join(root, name)):
                    os.chmod(os.path.join(root, name), 0o700)
        shutil.rmtree(sandbox)


@CASES
@given(MEMBER_NAMES)
def test_member_names_stay_inside_the_folder_or_raise_format_error(name):
    try:
        inside = _archives.member_path(name)
    except _backups.FormatError:
        return
    assert os.path.normpath(os.path.join("/restored", inside)).startswith("/restored")
