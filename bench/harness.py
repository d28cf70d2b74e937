"""What the benchmarks share: modules run as Ansible runs them (a Python process reading JSON arguments),
from this working tree, timed from start to exit."""

import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def collections_path(tmp):
    base = os.path.join(tmp, "collections")
    os.makedirs(os.path.join(base, "ansible_collections", "upkeep"))
    os.symlink(ROOT, os.path.join(base, "ansible_collections", "upkeep", "maintenance"))
    return base


def run_module(collections, name, **args):
    """(seconds, result) of one module run; a failed run ends the benchmark with the module's message."""
    started = time.monotonic()
    process = subprocess.run(
        [sys.executable, "-m", "ansible_collections.upkeep.maintenance.plugins.modules." + name],
        input=json.dumps({"ANSIBLE_MODULE_ARGS": args}), capture_output=True, text=True, check=False,
        env=dict(os.environ, PYTHONPATH=collections))
    elapsed = time.monotonic() - started
    result = json.loads(process.stdout)
    if result.get("failed"):
        raise SystemExit("module failed: %s" % result["msg"])
    return elapsed, result


def timed(command, **kwargs):
    started = time.monotonic()
    subprocess.run(command, check=True, **kwargs)
    return time.monotonic() - started
