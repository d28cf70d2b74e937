"""The benchmarks of bench/ in one run, their rows in one table (harness.py says how each row is measured).

Usage: python bench/run.py [--small]
  --small: small inputs, for a quick look; the test of the baselines (tests/modules/test_bench_baselines.py) runs
           it with one round, which shows each baseline does the same work as its module.
"""

import argparse

import backup_create
import backup_verify
import cert_expiry
import dependency_audit
import pg_vacuum
import prune
import sqlite_vacuum
from harness import ROUNDS, table

SIZES = dict(
    full=dict(sqlite_vacuum=dict(size_mib=200), pg_vacuum=dict(), prune=dict(files=20000, larger=200000), backup_create=dict(),
              backup_verify=dict(size_mib=2048), cert_expiry=dict(files=500, endpoints=100), dependency_audit=dict()),
    small=dict(sqlite_vacuum=dict(size_mib=8), pg_vacuum=dict(tables=20, bloated=4, rows_per_table=2000),
               prune=dict(files=400, larger=2000), backup_create=dict(files=300, size_mib=4), backup_verify=dict(size_mib=16),
               cert_expiry=dict(files=20, endpoints=4), dependency_audit=dict(projects=4, packages=200)))
BENCHES = (sqlite_vacuum, pg_vacuum, prune, backup_create, backup_verify, cert_expiry, dependency_audit)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", action="store_true")
    small = parser.parse_args().small
    sizes = SIZES["small" if small else "full"]
    rows = []
    for bench in BENCHES:
        rows += bench.rows(**sizes[bench.__name__])
    if small:
        # The targets are set for the full sizes, where the work outweighs a process starting.
        for row in rows:
            row.update(target=None, met=None)
    print("Each side run %d times after a warm-up, interleaved with the other; wall and CPU seconds are medians, the "
          "ratio is the module's median over the baseline's." % ROUNDS)
    print(table(rows))
    if any(row["met"] is False for row in rows):
        print("targets not met: %s" % ", ".join(row["job"] for row in rows if row["met"] is False))


if __name__ == "__main__":
    main()
