"""The audit's matcher against each ecosystem's own reading of the same advisories: every ECOSYSTEM and SEMVER range of
the npm advisories evaluated by npm's semver package (node-semver, the code behind npm audit), and every ECOSYSTEM
range of the PyPI advisories ordered by packaging's Version (what pip compares with), at the versions each range
names and their neighbours. The advisories are the shared set of real ones (../shared/advisories, or
UPKEEP_ADVISORIES) where it is, else the tests' own copies of some of them."""

import glob
import json
import os
import subprocess

import yaml
from ansible_collections.upkeep.maintenance.plugins.module_utils._versions import InvalidVersion, range_affects
from packaging.version import InvalidVersion as PackagingInvalid
from packaging.version import Version

from prerequisites import missing

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NODE_SEMVER = os.path.join(ROOT, ".build", "node", "node_modules", "semver")
SHARED = os.environ.get("UPKEEP_ADVISORIES") or os.path.join(os.path.dirname(ROOT), "shared", "advisories")
ADVISORIES = SHARED if os.path.isdir(SHARED) else os.path.join(ROOT, "tests", "fixtures", "advisories")

# For each range: its events' values sorted by node-semver, read as npm reads a range's versions (1.0 is 1.0.0), the
# release versions at and around them, and whether each lies in the range; null where a value does not read.
NODE_ORACLE = r"""
const semver = require(process.argv[1]);
const ranges = JSON.parse(require("fs").readFileSync(0, "utf8"));
const loose = {loose: true, includePrerelease: true};
const read = (value) => typeof value !== "string" ? null : value === "0" ? "0.0.0" :
  semver.valid(value, loose) || (semver.validRange(value, loose) && semver.minVersion(value, loose).version) || null;
console.log(JSON.stringify(ranges.map((events) => {
  const values = events.map((event) => [Object.keys(event)[0], Object.values(event)[0]]).filter(([name]) => name !== "limit");
  const read_values = values.map(([name, value]) => [name, read(value), value]);
  if (read_values.some(([, version]) => version === null)) return null;
  read_values.sort((a, b) => semver.compare(a[1], b[1]));  // stable: events of one version keep their order
  const parts = [];
  let opened = null;
  for (const [name, version, value] of read_values) {
    if (name === "introduced") opened = opened === null ? (value === "0" ? "0.0.0" : value) : opened;
    else if (opened !== null) { parts.push(`>=${opened} ${name === "fixed" ? "<" : "<="}${value}`); opened = null; }
  }
  if (opened !== null) parts.push(`>=${opened}`);
  const probes = new Set();
  for (const [, version] of read_values) {
    const [major, minor, patch] = [semver.major(version), semver.minor(version), semver.patch(version)];
    for (const candidate of [`${major}.${minor}.${patch}`, `${major}.${minor}.${patch + 1}`,
                             patch > 0 ? `${major}.${minor}.${patch - 1}` : `${major}.${minor}.0`]) probes.add(candidate);
  }
  return [...probes].map((probe) => [probe, parts.length > 0 && semver.satisfies(probe, parts.join(" || "), loose)]);
})));
"""


def advisory_files(folder):
    return sorted(glob.glob(os.path.join(ADVISORIES, folder, "**", "*.json"), recursive=True)
                  + glob.glob(os.path.join(ADVISORIES, folder, "**", "*.yaml"), recursive=True))


def ranges_of(folder, ecosystem, kinds):
    found = []
    for path in advisory_files(folder):
        with open(path) as stream:
            advisory = yaml.safe_load(stream) if path.endswith(".yaml") else json.load(stream)
        for affected in advisory.get("affected") or []:
            if (affected.get("package") or {}).get("ecosystem") != ecosystem:
                continue
            found.extend((advisory["id"], range_spec) for range_spec in affected.get("ranges") or []
                         if range_spec.get("type") in kinds)
    return found


def ours(range_spec, ecosystem, version):
    try:
        return range_affects(range_spec, ecosystem, version)
    except InvalidVersion:
        return None


def test_every_npm_range_is_read_as_npm_reads_it():
    if not os.path.isdir(NODE_SEMVER):
        missing("npm's semver package is not in .build/node (make pytest installs it)")
    ranges = ranges_of("npm", "npm", ("ECOSYSTEM", "SEMVER"))
    assert len(ranges) >= 14, ADVISORIES
    process = subprocess.run(["node", "-e", NODE_ORACLE, NODE_SEMVER], input=json.dumps([spec["events"] for _id, spec in ranges]),
                             capture_output=True, text=True, check=True)
    disagreements = []
    for (advisory, range_spec), answers in zip(ranges, json.loads(process.stdout)):
        if answers is None:
            # npm cannot read the range: neither may the matcher pass over it in silence.
            disagreements += [] if ours(range_spec, "npm", "1.0.0") is None else [(advisory, range_spec, "read")]
            continue
        disagreements += [(advisory, probe, expected) for probe, expected in answers
                          if ours(range_spec, "npm", probe) != expected]
    assert disagreements == []


def test_every_pypi_range_orders_as_packaging_orders_it():
    ranges = ranges_of("pypi", "PyPI", ("ECOSYSTEM",))
    assert len(ranges) >= 25, ADVISORIES
    checked, disagreements = 0, []
    for advisory, range_spec in ranges:
        values = [(name, value) for event in range_spec.get("events") or [] for name, value in event.items()
                  if name != "limit"]
        try:
            bounds = [(name, Version("0") if value == "0" else Version(str(value))) for name, value in values]
        except PackagingInvalid:
            # pip cannot read the range: neither may the matcher pass over it in silence.
            disagreements += [] if ours(range_spec, "PyPI", "1.0") is None else [(advisory, range_spec, "read")]
            continue
        # Stable: the events of one version keep the advisory's order.
        bounds.sort(key=lambda bound: bound[1])
        probes = set()
        for _name, version in bounds:
            release = list(version.release) + [0] * (3 - len(version.release))
            probes |= {str(version), "%d.%d.%d" % (release[0], release[1], release[2] + 1),
                       "%d.%d.%d" % (release[0], release[1], max(release[2] - 1, 0))}
        for probe in probes:
            expected, opened = False, False
            for name, version in bounds:
                if name == "introduced" and Version(probe) >= version:
                    opened = True
                elif name == "fixed" and Version(probe) >= version:
                    opened = False
                elif name == "last_affected" and Version(probe) > version:
                    opened = False
                expected = opened
            checked += 1
            if ours(range_spec, "PyPI", probe) != expected:
                disagreements.append((advisory, probe, expected))
    assert checked > 100 and disagreements == []
