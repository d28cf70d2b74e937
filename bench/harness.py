"""What the benchmarks share. Each compares a module, run as Ansible runs it (a Python process reading its arguments as
JSON, from this working tree), with what a user would run for the same job on the same input. The two sides run
interleaved - baseline, module, baseline, module - for a warm-up round and then the counted rounds, each run on a
fresh copy of the input where the job changes it; after every round the two sides' outcomes must be equal, which
shows they did the same work. A row gives each side's median and fastest wall time, their median CPU time (of the
processes each started), and the ratio of the medians."""

import argparse
import inspect
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))

from collection import ansible_only_path, linked_collections_path  # noqa: E402  (tests/support/collection.py)

# The counted rounds of every comparison; UPKEEP_BENCH_ROUNDS=1 for a quick look (or the honesty test).
ROUNDS = int(os.environ.get("UPKEEP_BENCH_ROUNDS", "5"))
# The modules' Python, as for the tests: `make bench` gives the managed host's (Debian's python3 with the modules'
# libraries), which a Debian host runs them on; without it, this Python.
MODULE_PYTHON = os.environ.get("UPKEEP_MODULE_PYTHON")


def collections_path(tmp):
    """This tree as a collection in tmp; for another Python, ansible-core's module_utils beside it."""
    if MODULE_PYTHON:
        ansible_only_path(os.path.join(tmp, "module_utils"))
    return linked_collections_path(os.path.join(tmp, "collections"))


def run_module(collections, name, **args):
    """The result of one module run; a failed run ends the benchmark with the module's message."""
    path = collections + (":" + os.path.join(os.path.dirname(collections), "module_utils") if MODULE_PYTHON else "")
    process = subprocess.run(
        [MODULE_PYTHON or sys.executable, "-m", "ansible_collections.upkeep.maintenance.plugins.modules." + name],
        input=json.dumps({"ANSIBLE_MODULE_ARGS": args}), capture_output=True, text=True, check=False,
        env=dict(os.environ, PYTHONPATH=path))
    result = json.loads(process.stdout)
    if result.get("failed"):
        raise SystemExit("%s failed: %s" % (name, result["msg"]))
    return result


def run(command, **options):
    """Run a command of the baseline, its failure the end of the benchmark."""
    return subprocess.run(command, check=True, **options)


def measured(side, subject):
    """(wall seconds, CPU seconds of the processes it started, outcome) of one run of a side."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    outcome = side(subject)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), outcome


def compare(job, baseline, module, prepare=lambda: None, outcome=lambda subject, value: value, target=None,
            rounds=None, warmup=1):
    """One row: baseline and module are (label, side), a side a function of the subject prepare() makes afresh for
    each of its runs; outcome(subject, what the side returned), read after the run and not timed, is what the two
    sides must agree on. target is the highest ratio of the medians the module may have (or, as (ratio, 'cpu'), of
    the CPU medians too)."""
    rounds = ROUNDS if rounds is None else rounds
    samples = dict(baseline=[], module=[])
    for number in range(warmup + rounds):
        outcomes = []
        for name, (_label, side) in (("baseline", baseline), ("module", module)):
            subject = prepare()
            wall, cpu, value = measured(side, subject)
            outcomes.append(outcome(subject, value))
            if number >= warmup:
                samples[name].append((wall, cpu))
        if outcomes[0] != outcomes[1]:
            raise SystemExit("%s: the two sides did not do the same work:\n  %s: %r\n  %s: %r" % (
                job, baseline[0], outcomes[0], module[0], outcomes[1]))
    row = dict(job=job, baseline=baseline[0], module=module[0], target=target, rounds=rounds)
    for name in ("baseline", "module"):
        walls = [wall for wall, _cpu in samples[name]]
        row[name + "_median"] = statistics.median(walls)
        row[name + "_min"] = min(walls)
        row[name + "_cpu"] = statistics.median(cpu for _wall, cpu in samples[name])
    row["ratio"] = row["module_median"] / row["baseline_median"]
    row["cpu_ratio"] = row["module_cpu"] / row["baseline_cpu"] if row["baseline_cpu"] else None
    limit = target if not isinstance(target, tuple) else target[0]
    row["met"] = None if target is None else (row["ratio"] <= limit and (
        not isinstance(target, tuple) or row["cpu_ratio"] is not None and row["cpu_ratio"] <= limit))
    print("  %s: %.3f s against %.3f s, ratio %.2f" % (job, row["module_median"], row["baseline_median"], row["ratio"]),
          file=sys.stderr, flush=True)
    return row


def table(rows):
    """The rows as one table."""
    lines = ["| job | baseline | median (min) s | CPU s | module median (min) s | CPU s | ratio | CPU ratio | target |",
             "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for row in rows:
        target = "" if row["target"] is None else "%s %s%s" % (
            "<=", row["target"] if not isinstance(row["target"], tuple) else "%s (wall and CPU)" % row["target"][0],
            ", met" if row["met"] else ", NOT met")
        lines.append("| %s | %s | %.3f (%.3f) | %.3f | %.3f (%.3f) | %.3f | %.2f | %s | %s |" % (
            row["job"], row["baseline"], row["baseline_median"], row["baseline_min"], row["baseline_cpu"],
            row["module_median"], row["module_min"], row["module_cpu"], row["ratio"],
            "%.2f" % row["cpu_ratio"] if row["cpu_ratio"] is not None else "-", target))
    return "\n".join(lines)


def main(doc, rows):
    """Run one bench from the command line: an option for each parameter of ROWS, its default the parameter's."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    for parameter in inspect.signature(rows).parameters.values():
        parser.add_argument("--" + parameter.name.replace("_", "-"), default=parameter.default,
                            type=str if parameter.default is None else type(parameter.default))
    print(table(rows(**vars(parser.parse_args()))))


def scratch(prefix="upkeep-bench-"):
    return tempfile.mkdtemp(prefix=prefix, dir=os.environ.get("UPKEEP_BENCH_DIR", "/var/tmp"))
