# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What a Python or Node project has locked and installed, read from its files exactly, with the standard library
only (managed hosts need nothing installed for it): requirements files, poetry.lock, uv.lock, Pipfile.lock,
installed distributions; package-lock.json and npm-shrinkwrap.json (lockfile versions 1 to 3), yarn.lock (v1 and
berry), pnpm-lock.yaml (versions 5 to 9), installed node_modules.

Every reader returns Packages; a file that does not read raises LockfileError with what is wrong, so that one bad
file is one finding and the other files are still read."""

import email.parser
import json
import os
import re

from ansible_collections.upkeep.maintenance.plugins.module_utils._files import TooLarge, open_regular, read_regular_file
from ansible_collections.upkeep.maintenance.plugins.module_utils._osv import normalize_name
from ansible_collections.upkeep.maintenance.plugins.module_utils._versions import NPM, PYPI

PYTHON_LOCKS = ("poetry.lock", "uv.lock", "Pipfile.lock")
NODE_LOCKS = ("package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml")
REQUIREMENTS = re.compile(r"^requirements([-_.][\w.-]*)?\.txt$")
# Folders never entered while looking for projects: version control, caches, and the insides of environments,
# which are read as installed packages where they belong to a project instead.
SKIPPED_FOLDERS = {".git", ".hg", ".svn", "__pycache__", ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".cache",
                   "node_modules", "site-packages", "dist-packages", ".yarn", ".pnpm-store"}
MAX_FILE = 64 * 1024 * 1024


class LockfileError(Exception):
    """A lock or manifest file that cannot be read as what it claims to be."""


class Packages(object):
    """The packages one file names: pinned ones, and requirements that pin nothing."""

    def __init__(self, ecosystem, source, kind):
        self.ecosystem = ecosystem
        self.source = source
        self.kind = kind
        self.packages = []
        self.unpinned = []

    def add(self, name, version, direct=None, license_name=None):
        self.packages.append(dict(ecosystem=self.ecosystem, name=normalize_name(self.ecosystem, name),
                                  version=str(version), direct=direct, source=self.source,
                                  **(dict(license=license_name) if license_name is not None else {})))

    def add_unpinned(self, name, specifier):
        self.unpinned.append(dict(ecosystem=self.ecosystem, name=normalize_name(self.ecosystem, name) if name else None,
                                  specifier=specifier, source=self.source))


def read_text(path):
    try:
        data = read_regular_file(path, MAX_FILE)
    except TooLarge as error:
        raise LockfileError(str(error))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise LockfileError("not UTF-8 text (byte %d)" % error.start)


def read_json(path):
    try:
        data = json.loads(read_text(path))
    except ValueError as error:
        raise LockfileError("not JSON: %s" % error)
    except RecursionError:
        raise LockfileError("nested too deeply to read (a lock file nests a few levels per dependency)")
    if not isinstance(data, dict):
        raise LockfileError("not a JSON object")
    return data


# Python

REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$")
PINNED = re.compile(r"^===?\s*([^\s,;*]+)\s*$")


def requirements_file(path, seen=None):
    """Pinned requirements (name==version) and the rest, following -r includes; pip-compile's "# via" comments tell
    the transitive packages from the direct ones."""
    seen = set() if seen is None else seen
    seen.add(os.path.realpath(path))
    found = Packages(PYPI, path, "requirements")
    lines = read_text(path).splitlines()
    logical = []
    for number, line in enumerate(lines):
        if logical and logical[-1][1].endswith("\\"):
            logical[-1] = (logical[-1][0], logical[-1][1][:-1] + " " + line.strip())
        else:
            logical.append((number, line))
    for index, (number, line) in enumerate(logical):
        text = line.split(" #", 1)[0].strip() if not line.lstrip().startswith("#") else ""
        if not text:
            continue
        if text.startswith(("-r ", "--requirement ", "-r", "-c ", "--constraint ")):
            included = text.split(None, 1)[1] if " " in text else text[2:]
            target = os.path.normpath(os.path.join(os.path.dirname(path), included.strip()))
            if text.startswith(("-r", "--requirement")) and os.path.realpath(target) not in seen and os.path.isfile(target):
                nested = requirements_file(target, seen)
                found.packages += nested.packages
                found.unpinned += nested.unpinned
            continue
        if text.startswith("-"):
            if text.startswith(("-e ", "--editable")):
                found.add_unpinned(None, text)
            continue
        requirement = text.split(";", 1)[0].split("--hash", 1)[0].strip()
        match = REQUIREMENT.match(requirement)
        if not match or "@" in match.group(3) or "://" in requirement:
            found.add_unpinned(match.group(1) if match and "://" not in match.group(1) else None, requirement)
            continue
        name, specifier = match.group(1), match.group(3).strip()
        pinned = PINNED.match(specifier)
        if pinned:
            found.add(name, pinned.group(1), direct=compiled_as_direct(lines, number))
        else:
            found.add_unpinned(name, specifier or "any version")
    return found


def compiled_as_direct(lines, number):
    """pip-compile writes "# via" under each package: direct when one of them is a requirements file (-r, -c) or
    when there is no such comment (a file written by hand), transitive when they are all package names."""
    via = []
    for line in lines[number + 1:]:
        stripped = line.strip()
        if not stripped.startswith("#"):
            break
        comment = stripped.lstrip("#").strip()
        if comment.startswith("via "):
            via.append(comment[4:].strip())
        elif via and comment:
            via.append(comment)
    if not via:
        return True
    return any(entry.startswith(("-r ", "-c ")) or entry.endswith((".in", ".txt", "pyproject.toml", "setup.py", "setup.cfg"))
               for entry in via)


def toml_sections(text):
    """A lock file's TOML as (section header, {key: raw value}) in order, for the flat keys lock files put in their
    tables and arrays of tables; values spread over several lines (arrays) are joined. Enough for poetry.lock,
    uv.lock, Pipfile and pyproject.toml, and it needs no TOML library on Python before 3.11."""
    sections, current, key, buffer, depth = [], ("", {}), None, "", 0
    sections.append(current)
    for line in text.splitlines():
        stripped = line.strip()
        if key is not None:
            buffer += " " + stripped
            depth += stripped.count("[") - stripped.count("]")
            if depth <= 0:
                current[1][key] = buffer.strip()
                key, buffer = None, ""
            continue
        if not stripped or stripped.startswith("#"):
            continue
        header = re.match(r"^(\[\[?)\s*([^\]]+?)\s*\]\]?$", stripped)
        if header:
            current = (("[[%s]]" if header.group(1) == "[[" else "[%s]") % header.group(2), {})
            sections.append(current)
            continue
        assignment = re.match(r'^("[^"]*"|[A-Za-z0-9_.-]+)\s*=\s*(.*)$', stripped)
        if not assignment:
            continue
        name, value = assignment.group(1).strip('"'), assignment.group(2)
        depth = value.count("[") - value.count("]") if value.startswith("[") else 0
        if depth > 0:
            key, buffer = name, value
        else:
            current[1][name] = value
    return sections


def toml_string(raw):
    if raw is None:
        return None
    match = re.match(r'^"((?:[^"\\]|\\.)*)"|^\'([^\']*)\'', raw.strip())
    return (match.group(1) if match.group(1) is not None else match.group(2)) if match else None


def toml_names(raw):
    """The package names of a dependency array: strings ("requests>=2") or inline tables ({ name = "requests" })."""
    names = re.findall(r'name\s*=\s*"([^"]+)"', raw or "")
    if not names:
        names = [re.split(r"[\s<>=!~;\[(@]", entry, 1)[0] for entry in re.findall(r'"([^"]+)"', raw or "")]
    return [name for name in names if name]


def declared_python_dependencies(folder):
    """The direct dependencies a project declares in pyproject.toml (PEP 621 and Poetry) and Pipfile, by name."""
    names = set()
    for manifest in ("pyproject.toml", "Pipfile"):
        path = os.path.join(folder, manifest)
        if not os.path.isfile(path):
            continue
        try:
            sections = toml_sections(read_text(path))
        except (LockfileError, OSError):
            continue
        for header, keys in sections:
            if header == "[project]":
                names.update(toml_names(keys.get("dependencies")))
            elif header.startswith("[project.optional-dependencies") or header == "[dependency-groups]":
                for value in keys.values():
                    names.update(toml_names(value))
            elif re.match(r"^\[tool\.poetry(\.group\.[^.]+)?\.(dev-)?dependencies\]$", header) or \
                    header in ("[packages]", "[dev-packages]"):
                names.update(name for name in keys if name != "python")
    return set(normalize_name(PYPI, name) for name in names)


def poetry_lock(path):
    found = Packages(PYPI, path, "poetry.lock")
    direct = declared_python_dependencies(os.path.dirname(path))
    sections = toml_sections(read_text(path))
    if not any(header == "[[package]]" for header, _keys in sections):
        raise LockfileError("no [[package]] table: not a poetry.lock")
    for header, keys in sections:
        if header == "[[package]]":
            name, version = toml_string(keys.get("name")), toml_string(keys.get("version"))
            if not name or not version:
                raise LockfileError("a [[package]] without name or version")
            found.add(name, version, direct=normalize_name(PYPI, name) in direct if direct else None)
    return found


def uv_lock(path):
    """uv.lock: the workspace's own packages (editable or virtual sources) are not dependencies; what they depend on
    directly is."""
    found = Packages(PYPI, path, "uv.lock")
    sections = toml_sections(read_text(path))
    packages = [keys for header, keys in sections if header == "[[package]]"]
    if not packages:
        raise LockfileError("no [[package]] table: not a uv.lock")
    own = [keys for keys in packages if re.search(r"\b(editable|virtual|directory)\s*=", keys.get("source", ""))]
    direct = set(normalize_name(PYPI, name) for keys in own for name in toml_names(keys.get("dependencies")))
    direct |= set(normalize_name(PYPI, name) for header, keys in sections if header.startswith("[package.dev-dependencies")
                  for value in keys.values() for name in toml_names(value))
    for keys in packages:
        if keys in own:
            continue
        name, version = toml_string(keys.get("name")), toml_string(keys.get("version"))
        if not name or not version:
            raise LockfileError("a [[package]] without name or version")
        found.add(name, version, direct=normalize_name(PYPI, name) in direct)
    return found


def pipfile_lock(path):
    data = read_json(path)
    if "default" not in data and "develop" not in data:
        raise LockfileError("no default or develop section: not a Pipfile.lock")
    found = Packages(PYPI, path, "Pipfile.lock")
    direct = declared_python_dependencies(os.path.dirname(path))
    for section in ("default", "develop"):
        for name, entry in (data.get(section) or {}).items():
            version = str((entry or {}).get("version", "")) if isinstance(entry, dict) else ""
            pinned = PINNED.match(version)
            if pinned:
                found.add(name, pinned.group(1), direct=normalize_name(PYPI, name) in direct if direct else None)
            else:
                found.add_unpinned(name, version or "no version (git or path)")
    return found


def python_license(metadata):
    """SPDX expression or license name of a distribution, from License-Expression, License, or a classifier."""
    expression = (metadata.get("License-Expression") or "").strip()
    if expression:
        return expression
    text = (metadata.get("License") or "").strip()
    if text and len(text) < 80 and "\n" not in text and text.upper() != "UNKNOWN":
        return text
    classifiers = [value.split("::")[-1].strip() for value in metadata.get_all("Classifier") or []
                   if value.startswith("License ::") and "OSI Approved" != value.split("::")[-1].strip()]
    return " OR ".join(classifiers) if classifiers else None


def site_packages(folder):
    """The distributions installed in a site-packages folder, from their METADATA or PKG-INFO."""
    found = Packages(PYPI, folder, "installed")
    for name in sorted(os.listdir(folder)):
        if name.endswith(".dist-info"):
            metadata_file = os.path.join(folder, name, "METADATA")
        elif name.endswith(".egg-info"):
            metadata_file = os.path.join(folder, name, "PKG-INFO") if os.path.isdir(os.path.join(folder, name)) \
                else os.path.join(folder, name)
        else:
            continue
        try:
            with open_regular(metadata_file) as stream:
                metadata = email.parser.BytesHeaderParser().parse(stream)
        except OSError:
            continue
        if metadata.get("Name") and metadata.get("Version"):
            found.add(metadata["Name"], metadata["Version"], license_name=python_license(metadata) or "")
    return found


def environment_site_packages(folder):
    """The site-packages folders of a virtual environment (a folder with pyvenv.cfg)."""
    found = []
    for library in ("lib", "lib64", "Lib"):
        base = os.path.join(folder, library)
        if not os.path.isdir(base) or os.path.islink(base) and library == "lib64":
            continue
        for python in sorted(os.listdir(base)):
            candidate = os.path.join(base, python, "site-packages") if python.startswith("python") else \
                os.path.join(base, "site-packages") if python == "site-packages" else None
            if candidate and os.path.isdir(candidate) and candidate not in found:
                found.append(candidate)
    return found


# Node

def package_manifest(folder):
    """package.json of a folder, or {}."""
    path = os.path.join(folder, "package.json")
    if not os.path.isfile(path):
        return {}
    try:
        return read_json(path)
    except (LockfileError, OSError):
        return {}


def declared_node_dependencies(manifest):
    names = set()
    for section in ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies"):
        value = manifest.get(section)
        if isinstance(value, dict):
            names.update(value)
    return names


def package_lock(path):
    """package-lock.json and npm-shrinkwrap.json: lockfile version 1 (nested dependencies) and 2 and 3 (packages
    by their node_modules path)."""
    data = read_json(path)
    version = data.get("lockfileVersion")
    if version not in (1, 2, 3):
        raise LockfileError("lockfileVersion %r is not one of 1, 2 and 3" % (version,))
    found = Packages(NPM, path, os.path.basename(path))
    if version >= 2 and isinstance(data.get("packages"), dict):
        root = data["packages"].get("") or {}
        direct = declared_node_dependencies(root) or declared_node_dependencies(package_manifest(os.path.dirname(path)))
        for location, entry in data["packages"].items():
            if not location or not isinstance(entry, dict) or entry.get("link"):
                continue
            if "node_modules/" not in location:
                continue  # a workspace package of this repository
            name = entry.get("name") or location.rsplit("node_modules/", 1)[1]
            if not entry.get("version"):
                found.add_unpinned(name, entry.get("resolved") or "no version")
                continue
            top_level = location == "node_modules/" + name
            found.add(name, entry["version"], direct=top_level and name in direct)
        return found
    direct = declared_node_dependencies(package_manifest(os.path.dirname(path)))
    pending = [(name, entry, True) for name, entry in (data.get("dependencies") or {}).items()]
    while pending:
        name, entry, top_level = pending.pop()
        if not isinstance(entry, dict):
            raise LockfileError("dependency %s is not an object" % name)
        if entry.get("version"):
            version = str(entry["version"])
            if version.startswith(("file:", "git", "http", "link:")):
                found.add_unpinned(name, version)
            else:
                found.add(name, version, direct=top_level and name in direct)
        pending += [(child, nested, False) for child, nested in (entry.get("dependencies") or {}).items()]
    return found


YARN_V1_HEADER = re.compile(r'^(?!\s)(.+):\s*$')


def yarn_spec_name(spec):
    """The package name of a yarn specifier such as lodash@^4.17.0, "@babel/core@^7.0.0" or lodash@npm:^4."""
    spec = spec.strip().strip('"')
    at = spec.find("@", 1)
    return spec[:at] if at > 0 else spec


def yarn_lock(path):
    """yarn.lock of yarn 1 (its own format) and of yarn 2 and later ("berry", a YAML subset with __metadata)."""
    text = read_text(path)
    berry = re.search(r"^__metadata:\s*$", text, re.M) is not None
    if not berry and "# yarn lockfile v1" not in text:
        raise LockfileError("neither a yarn 1 lock file (no '# yarn lockfile v1') nor a yarn 2+ one (no __metadata)")
    found = Packages(NPM, path, "yarn.lock")
    direct = declared_node_dependencies(package_manifest(os.path.dirname(path)))
    entries, current = [], None
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        header = YARN_V1_HEADER.match(line)
        if header and not line.startswith(" "):
            current = dict(specs=[spec.strip() for spec in header.group(1).split(",")], fields={})
            entries.append(current)
            continue
        field = re.match(r'^  ([A-Za-z]+):?\s+"?([^"]*)"?\s*$', line)
        if current is not None and field:
            current["fields"][field.group(1)] = field.group(2)
    for entry in entries:
        if entry["specs"] == ["__metadata"]:
            continue
        resolution = entry["fields"].get("resolution", "")
        if "@workspace:" in resolution or "@link:" in resolution or "@portal:" in resolution:
            continue
        version = entry["fields"].get("version")
        if not version:
            raise LockfileError("entry %s has no version" % ", ".join(entry["specs"]))
        name = yarn_spec_name(entry["specs"][0])
        found.add(name, version, direct=name in direct)
    return found


def pnpm_lock(path):
    """pnpm-lock.yaml, lockfile versions 5.x, 6.x and 9.x: the packages section's keys name each package and version
    (/name/1.0.0, /name@1.0.0, name@1.0.0, with peer suffixes), the importers (or the root) the direct ones."""
    text = read_text(path)
    version = re.search(r"^lockfileVersion:\s*'?\"?([0-9.]+)", text, re.M)
    if not version:
        raise LockfileError("no lockfileVersion: not a pnpm lock file")
    major = int(float(version.group(1)))
    if major not in (5, 6, 7, 8, 9):
        raise LockfileError("lockfileVersion %s is not one of 5 to 9" % version.group(1))
    found = Packages(NPM, path, "pnpm-lock.yaml")
    # Direct dependencies as (name, resolved version): under importers (each project of a workspace, 6.x and 9.x
    # with one), or at the top (5.x, and 6.x for one project); the version on the name's line (5.x) or below it.
    section, direct, in_direct_list, level, last = None, set(), False, 2, None
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        if indent == 0:
            section = line.rstrip(":").strip()
            in_direct_list = section in ("dependencies", "devDependencies", "optionalDependencies")
            level, last = 2, None
            continue
        key, _colon, value = line.strip().partition(":")
        key, value = key.strip("'\""), value.strip().strip("'\"")
        if section == "importers" and indent == 4:
            in_direct_list, level, last = key in ("dependencies", "devDependencies", "optionalDependencies"), 6, None
        elif in_direct_list and indent == level:
            last = key
            if value:
                direct.add((key, re.sub(r"\(.*$", "", value)))
        elif in_direct_list and indent == level + 2 and key == "version" and last:
            direct.add((last, re.sub(r"\(.*$", "", value)))
        elif section == "packages" and indent == 2 and line.rstrip().endswith(":"):
            key = line.strip()[:-1].strip("'\"")
            name, package_version = pnpm_package(key, major)
            if name and package_version:
                found.add(name, package_version)
    for package in found.packages:
        package["direct"] = (package["name"], package["version"]) in direct
    return found


def pnpm_package(key, major):
    """(name, version) of a key of pnpm's packages section."""
    key = re.sub(r"\(.*$", "", key.lstrip("/"))
    if major == 5:
        key = key.split("_", 1)[0]
        name, _slash, version = key.rpartition("/")
        return name, version
    at = key.rfind("@")
    return (key[:at], key[at + 1:]) if at > 0 else (None, None)


def node_modules(folder):
    """The packages installed in a node_modules folder (nested ones too), from their package.json."""
    found = Packages(NPM, folder, "installed")
    pending = [folder]
    while pending:
        current = pending.pop()
        try:
            names = sorted(os.listdir(current))
        except OSError:
            continue
        for name in names:
            if name.startswith("."):
                continue
            path = os.path.join(current, name)
            if os.path.islink(path) or not os.path.isdir(path):
                continue
            if name.startswith("@"):
                pending.append(path)
                continue
            manifest = package_manifest(path)
            if manifest.get("name") and manifest.get("version"):
                found.add(manifest["name"], manifest["version"], license_name=node_license(manifest) or "")
            nested = os.path.join(path, "node_modules")
            if os.path.isdir(nested) and not os.path.islink(nested):
                pending.append(nested)
    return found


def node_license(manifest):
    value = manifest.get("license")
    if isinstance(value, dict):
        value = value.get("type")
    if not value and isinstance(manifest.get("licenses"), list):
        value = " OR ".join(str(entry.get("type")) for entry in manifest["licenses"] if isinstance(entry, dict))
    return str(value) if value else None


READERS = {"poetry.lock": poetry_lock, "uv.lock": uv_lock, "Pipfile.lock": pipfile_lock,
           "package-lock.json": package_lock, "npm-shrinkwrap.json": package_lock, "yarn.lock": yarn_lock,
           "pnpm-lock.yaml": pnpm_lock}
