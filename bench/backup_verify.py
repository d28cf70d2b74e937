"""Benchmark (not a test): backup_verify's checksum check against `sha256sum -c` on one large backup.

Writes a backup of SIZE MiB with its sha256sum sidecar; both sides check it with the file in the page cache, and must
agree that it holds.

Usage: python bench/backup_verify.py [--size-mib 2048]
"""

import os
import shutil

from harness import collections_path, compare, main, run, run_module, scratch


def rows(size_mib=2048):
    tmp = scratch()
    try:
        collections = collections_path(tmp)
        folder = os.path.join(tmp, "backups")
        os.mkdir(folder)
        backup = os.path.join(folder, "app-20261123T020000Z.dump")
        block = os.urandom(1024 * 1024)
        with open(backup, "wb") as handle:
            for _number in range(size_mib):
                handle.write(block)
        with open(backup + ".sha256", "w") as sidecar:
            run(["sha256sum", os.path.basename(backup)], cwd=folder, stdout=sidecar)
        sidecar_name = os.path.basename(backup) + ".sha256"

        def checksum_status(_subject):
            result = run_module(collections, "backup_verify", path=folder, check_format=False, max_age="")
            return next(check["status"] for check in result["checks"] if check["name"] == "checksum")

        return [compare(
            "backup_verify, checksum of %d MiB" % size_mib,
            ("sha256sum -c", lambda _subject: run(["sha256sum", "-c", "--quiet", sidecar_name], cwd=folder) and "ok"),
            ("backup_verify", checksum_status),
            target=1.10)]
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main(__doc__, rows)
