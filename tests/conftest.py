"""Fixtures shared by the unit and integration tests: the collection on an import path, modules run as Ansible runs
them (a separate Python process reading its arguments as JSON), the estate builders, and real file systems."""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))

import estate  # noqa: E402  (tests/support/estate.py, found through the path set above)
from collection import ansible_only_path, linked_collections_path  # noqa: E402
from prerequisites import missing  # noqa: E402


def _collections_path():
    """A collections path holding this working tree as upkeep.maintenance, for imports and module runs."""
    base = tempfile.mkdtemp(prefix="upkeep-collections-")
    os.chmod(base, 0o755)  # modules also run as an unprivileged user
    return linked_collections_path(base)


COLLECTIONS_PATH = _collections_path()
sys.path.insert(0, COLLECTIONS_PATH)

# Another interpreter for the modules that the tests run directly, as on a managed host with an older Python (`make
# pytest` uses the oldest one supported). It gets this ansible-core's module_utils, as Ansiballz ships them.
MODULE_PYTHON = os.environ.get("UPKEEP_MODULE_PYTHON")


def _ansible_only_path():
    folder = tempfile.mkdtemp(prefix="upkeep-module-utils-")
    os.chmod(folder, 0o755)  # modules also run as an unprivileged user
    return ansible_only_path(folder)


@pytest.fixture(scope="session")
def collections_path():
    return COLLECTIONS_PATH


class ModuleRunner(object):
    module_utils = _ansible_only_path() if MODULE_PYTHON else None

    def __init__(self, collections_path):
        self.collections_path = collections_path

    def __call__(self, name, /, check_mode=False, env=None, user=None, **args):
        """Run a module of the collection, as root or as ``user``; returns its JSON result, with rc."""
        if check_mode:
            args["_ansible_check_mode"] = True
        environment = dict(os.environ, PYTHONPATH=self.collections_path)
        environment.update(env or {})
        if MODULE_PYTHON:
            environment["PYTHONPATH"] += ":" + self.module_utils
        interpreter = [MODULE_PYTHON or sys.executable]
        if user:
            interpreter = ["runuser", "-u", user, "--"] + self.interpreter_for(user, environment)
        process = subprocess.run(
            interpreter + ["-m", "ansible_collections.upkeep.maintenance.plugins.modules." + name],
            input=json.dumps({"ANSIBLE_MODULE_ARGS": args}), capture_output=True, text=True, env=environment,
            timeout=600, check=False)
        assert "Traceback" not in process.stderr + process.stdout, process.stderr + process.stdout
        result = json.loads(process.stdout)
        result["rc"] = process.returncode
        return result

    @staticmethod
    def interpreter_for(user, environment):
        """The modules' Python, or the system's with this Python's packages when the user cannot run that one (a
        Python under root's home)."""
        python = MODULE_PYTHON or sys.executable
        if subprocess.run(["runuser", "-u", user, "--", python, "-c", ""], capture_output=True,
                          check=False).returncode == 0:
            return [python]
        environment["PYTHONPATH"] += ":" + sysconfig.get_paths()["purelib"]
        return ["/usr/bin/python3"]


@pytest.fixture
def run_module(collections_path):
    return ModuleRunner(collections_path)


# Runs a module in a process of its own and prints its result with the module's peak resident memory, which the
# getrusage of a process whose only child is the module gives.
MEASURED = ("import json, resource, subprocess, sys; process = subprocess.run(sys.argv[1:], input=sys.stdin.read(), "
            "capture_output=True, text=True); print(json.dumps([json.loads(process.stdout), "
            "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss]))")


@pytest.fixture
def run_module_measured(collections_path):
    """(result, peak resident memory in MiB) of a module run."""
    def run(name, **args):
        process = subprocess.run(
            [sys.executable, "-c", MEASURED, MODULE_PYTHON or sys.executable, "-m",
             "ansible_collections.upkeep.maintenance.plugins.modules." + name],
            input=json.dumps({"ANSIBLE_MODULE_ARGS": args}), capture_output=True, text=True, check=True,
            env=dict(os.environ, PYTHONPATH=collections_path + (":" + ModuleRunner.module_utils if MODULE_PYTHON else "")))
        result, peak_kib = json.loads(process.stdout)
        return result, peak_kib / 1024.0
    return run


@pytest.fixture
def tmpfs(tmp_path):
    """Mount small tmpfs file systems (for a full disk or a read-only folder); needs root."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mounted = []

    def mount(size, readonly=False):
        target = tmp_path / ("fs-" + uuid.uuid4().hex[:8])
        target.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0755" % size, "tmpfs", str(target)], check=True)
        mounted.append(target)
        return target

    def make_readonly(target):
        subprocess.run(["mount", "-o", "remount,ro", str(target)], check=True)

    mount.make_readonly = make_readonly
    yield mount
    for target in reversed(mounted):
        subprocess.run(["umount", "-l", str(target)], check=False)


def docker(*arguments, check=True):
    """The output of a docker command, stripped."""
    return subprocess.run(["docker"] + list(arguments), capture_output=True, text=True, check=check).stdout.strip()


@pytest.fixture(scope="session")
def docker_image():
    """The Debian test image on this machine's Docker engine (tests/images/build.sh makes it once, with no registry)."""
    if subprocess.run(["docker", "info"], capture_output=True, check=False).returncode != 0:
        missing("no Docker engine answers (make images starts one)")
    return subprocess.run(["bash", os.path.join(ROOT, "tests", "images", "build.sh"), "bookworm"], capture_output=True,
                          text=True, check=True).stdout.strip()


@pytest.fixture
def make_estate():
    return estate


@pytest.fixture
def demo_estate(tmp_path):
    """The estate of `make demo` in .demo/ and its inventory in inventories/demo/, where the inventory finds it."""
    subprocess.run([sys.executable, os.path.join(ROOT, "tests", "support", "estate.py"), "demo", str(tmp_path / ".demo")],
                   check=True, capture_output=True)
    subprocess.run([sys.executable, os.path.join(ROOT, "tests", "support", "certs.py"), str(tmp_path / ".demo" / "certs")],
                   check=True, capture_output=True)
    shutil.copytree(os.path.join(ROOT, "inventories", "demo"), str(tmp_path / "inventories" / "demo"))
    return tmp_path


# The servers speak English and German (lc_messages): the modules must understand the server whatever its language.
SERVER_LANGUAGES = dict(en="C", de="de_DE.UTF-8")


def locale_installed(name):
    listed = subprocess.run(["locale", "-a"], capture_output=True, text=True, check=False).stdout.split()
    return name.lower().replace("utf-8", "utf8") in [entry.lower() for entry in listed]


@pytest.fixture(scope="session", params=sorted(SERVER_LANGUAGES))
def pg_server(request):
    """A real PostgreSQL server for the session (tests/support/pgserver.py) in each language; each test gets its own
    database. ``english`` tells whether its messages are English."""
    import pgserver
    messages = SERVER_LANGUAGES[request.param]
    if messages != "C" and not locale_installed(messages):
        missing("the %s locale is not installed (make postgresql installs it)" % messages)
    server = pgserver.Server(settings=dict(lc_messages="'%s'" % messages)).start()
    server.english = messages == "C"
    yield server
    server.stop()


@pytest.fixture
def pg_db(pg_server):
    """A fresh database on the test server and an open autocommit connection to it."""
    name = pg_server.create_database("test_" + uuid.uuid4().hex[:10])
    conn = pg_server.connect(name)
    yield name, conn
    conn.close()
    pg_server.sql('DROP DATABASE "%s" WITH (FORCE)' % name)


def hide_modules(folder, *names):
    """A PYTHONPATH entry on which importing these modules fails, as on a host without them."""
    folder.mkdir(exist_ok=True)
    for name in names:
        (folder / (name + ".py")).write_text("raise ImportError('%s is not installed')\n" % name)
    return "%s:%s" % (folder, COLLECTIONS_PATH)


@pytest.fixture(params=["psycopg", "psycopg2"])
def pg_driver(request, tmp_path):
    """Environment for run_module that makes the modules use psycopg 3, or psycopg2 as on a Debian host."""
    if request.param == "psycopg":
        return {}
    return dict(PYTHONPATH=hide_modules(tmp_path / "without-psycopg3", "psycopg"))
