"""The test suite itself: it runs on every Python the collection supports as a controller (no module the standard
library dropped), and `make sanity` keeps ansible-test's bootstrap stand-in out of the home of whoever runs it."""

import ast
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Removed from the standard library by Python 3.12 and 3.13 (PEP 594, PEP 632).
REMOVED = {"asyncore", "asynchat", "smtpd", "imp", "distutils", "cgi", "cgitb", "crypt", "imghdr", "mailcap", "nntplib",
           "pipes", "sndhdr", "spwd", "sunau", "telnetlib", "uu", "xdrlib", "audioop", "chunk", "msilib", "nis", "ossaudiodev"}


def python_files():
    for folder in ("tests", "plugins", "bench", "molecule"):
        for base, _folders, files in os.walk(os.path.join(ROOT, folder)):
            for name in files:
                if name.endswith(".py"):
                    yield os.path.join(base, name)


def test_nothing_imports_a_module_newer_pythons_removed():
    found = []
    for path in python_files():
        with open(path) as handle:
            tree = ast.parse(handle.read(), path)
        for node in ast.walk(tree):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            found += ["%s: %s" % (os.path.relpath(path, ROOT), name) for name in names if name.split(".")[0] in REMOVED]
    assert found == []


def test_sanity_bootstraps_pip_in_the_build_folder_not_in_the_users_home(tmp_path):
    """`make -n` prints the commands: every one that writes ansible-test's cache runs with HOME in .build."""
    process = subprocess.run(["make", "-n", "-W", "requirements/test.txt", "sanity"], cwd=ROOT, capture_output=True,
                             text=True, env=dict(os.environ, HOME=str(tmp_path)), check=True)
    commands = [line for line in process.stdout.splitlines() if "offline-get-pip.sh" in line or "ansible-test sanity" in line]
    assert len(commands) == 2, process.stdout
    assert all("HOME=%s/.build/sanity-home " % ROOT in command for command in commands), commands
    assert not os.path.exists(str(tmp_path / ".ansible"))
