"""Benchmark (not a test): backup_verify's checksum check against sha256sum on a large backup.

Writes a backup of --size-mib MiB with its sha256sum sidecar, then prints in one run the wall time of
`sha256sum -c` (the baseline) and of backup_verify checking that backup's freshness, size and checksum, as Ansible
runs it (a Python process reading JSON arguments), each the best of two runs with the file in the page cache.
Target: at most 1.10 times the baseline.

Usage: python bench/backup_verify.py [--size-mib 2048] [--dir /var/tmp]
"""

import argparse
import os
import shutil
import subprocess
import tempfile

from harness import collections_path, run_module, timed


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=2048)
    parser.add_argument("--dir", default="/var/tmp")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="upkeep-bench-", dir=args.dir)
    try:
        collections = collections_path(tmp)
        folder = os.path.join(tmp, "backups")
        os.mkdir(folder)
        backup = os.path.join(folder, "app-20261123T020000Z.dump")
        block = os.urandom(1024 * 1024)
        with open(backup, "wb") as handle:
            for _number in range(args.size_mib):
                handle.write(block)
        with open(backup + ".sha256", "w") as sidecar:
            subprocess.run(["sha256sum", os.path.basename(backup)], cwd=folder, stdout=sidecar, check=True)
        baseline = min(timed(["sha256sum", "-c", "--quiet", os.path.basename(backup) + ".sha256"], cwd=folder)
                       for _round in range(2))
        runs = [run_module(collections, "backup_verify", path=folder, check_format=False) for _round in range(2)]
        module, result = min(runs, key=lambda run: run[0])
        statuses = dict((check["name"], check["status"]) for check in result["checks"])
        print("sha256sum -c, %d MiB           %7.2f s  (baseline)" % (args.size_mib, baseline))
        print("backup_verify, checksum check  %7.2f s  ratio %.2f (target <= 1.10), checks %s" % (
            module, module / baseline, statuses))
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
