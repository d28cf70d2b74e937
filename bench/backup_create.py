"""Benchmark (not a test): backup_create of a folder against `tar | zstd` and `sha256sum` of the archive.

Lays out a tree like an application's data (by default 19,500 files, 270 MiB: small text files, larger files that do
not compress, nested folders), then archives it both ways into a fresh folder each time. The two archives must hold
the same members, with the same sizes and types.

Usage: python bench/backup_create.py [--files 19500] [--size-mib 270]
"""

import os
import shutil
import subprocess
import tarfile

from harness import collections_path, compare, main, run, run_module, scratch


def lay_out(root, files, size_mib):
    """Nine small text files in ten for every large one that does not compress, in folders of a hundred."""
    large = max(1, files // 10)
    large_size = size_mib * 1024 * 1024 * 9 // 10 // large
    text = b"2026-11-23T02:00:00Z INFO request served in 12 ms\n" * 40
    for number in range(files):
        folder = os.path.join(root, "part-%03d" % (number // 100))
        if number % 100 == 0:
            os.makedirs(folder)
        with open(os.path.join(folder, "file-%05d" % number), "wb") as handle:
            handle.write(os.urandom(large_size) if number % 10 == 0 else text)


def members(archive):
    """(name, type, size) of every member, sorted."""
    process = subprocess.Popen(["zstd", "-q", "-dc", archive], stdout=subprocess.PIPE)
    with tarfile.open(fileobj=process.stdout, mode="r|") as listing:
        found = sorted((member.name.rstrip("/"), member.type, member.size) for member in listing)
    process.wait()
    return found


def rows(files=19500, size_mib=270):
    tmp = scratch()
    try:
        collections = collections_path(tmp)
        tree = os.path.join(tmp, "appdata")
        lay_out(tree, files, size_mib)
        count = [0]

        def fresh():
            count[0] += 1
            dest = os.path.join(tmp, "backups-%d" % count[0])
            os.mkdir(dest)
            return dest

        def baseline(dest):
            archive = os.path.join(dest, "appdata.tar.zst")
            with open(archive, "wb") as output:
                tar = subprocess.Popen(["tar", "-C", tmp, "-cf", "-", "appdata"], stdout=subprocess.PIPE)
                run(["zstd", "-q", "-c"], stdin=tar.stdout, stdout=output)
                tar.stdout.close()
                assert tar.wait() == 0
            with open(archive + ".sha256", "w") as sidecar:
                run(["sha256sum", archive], stdout=sidecar)
            return archive

        def module(dest):
            return run_module(collections, "backup_create", kind="folder", src=tree, dest=dest)["path"]

        def outcome(dest, archive):
            found = members(archive)
            shutil.rmtree(dest)
            return found

        return [compare("backup_create, %d files, %d MiB" % (files, size_mib), ("tar piped to zstd, then sha256sum", baseline),
                        ("backup_create", module), prepare=fresh, outcome=outcome, target=1.3)]
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main(__doc__, rows)
