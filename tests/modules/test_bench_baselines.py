"""The benchmarks' baselines are honest: every benchmark of bench/run.py, on small inputs, runs both sides on the same
input, and each comparison ends the run when the two sides' outcomes differ (harness.compare)."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_each_baseline_does_the_same_work_as_its_module(tmp_path):
    process = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "run.py"), "--small"], capture_output=True,
                             text=True, env=dict(os.environ, UPKEEP_BENCH_ROUNDS="1", UPKEEP_BENCH_DIR=str(tmp_path)),
                             timeout=900, check=False)
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    header, *jobs = [line.split("|")[1].strip() for line in process.stdout.splitlines()
                     if line.startswith("| ") and "---" not in line]
    assert header == "job" and len(jobs) == 11, jobs


def test_a_comparison_ends_the_run_when_the_sides_do_different_work():
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    try:
        import harness
    finally:
        sys.path.pop(0)
    with pytest.raises(SystemExit, match="did not do the same work"):
        harness.compare("job", ("baseline", lambda subject: ["a", "b"]), ("module", lambda subject: ["a"]), rounds=1)
    row = harness.compare("job", ("baseline", lambda subject: ["a"]), ("module", lambda subject: ["a"]), rounds=2,
                          target=1000)
    assert row["rounds"] == 2 and row["met"] is True
