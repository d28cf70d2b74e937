"""Benchmark (not a test): prune against `find -mtime +N -delete` on the same files.

Lays out FILES files in 20 folders, one an hour back in time (about half older than the age), afresh for each run, and
deletes those older than the age both ways; the files left must be the same. A second row does the same with LARGER
files, where the module's start (Python and AnsibleModule, about 0.1 s) weighs a tenth as much and the cost per file
shows.

Usage: python bench/prune.py [--files 20000] [--larger 200000]
"""

import os
import shutil
import time

from harness import collections_path, compare, main, run, run_module, scratch

FOLDERS = 20


class Layout(object):
    def __init__(self, tmp, files):
        self.tmp, self.files, self.count = tmp, files, 0
        self.now = time.time()

    def __call__(self):
        """A fresh tree of the files."""
        self.count += 1
        root = os.path.join(self.tmp, "tree-%d-%d" % (self.files, self.count))
        for number in range(self.files):
            folder = os.path.join(root, "app-%02d" % (number % FOLDERS))
            if number < FOLDERS:
                os.makedirs(folder)
            path = os.path.join(folder, "app-%05d.log" % number)
            with open(path, "wb") as handle:
                handle.write(b"x" * 512)
            moment = self.now - number * 3600 - 1800
            os.utime(path, (moment, moment))
        return root


def left(root):
    found = sorted(os.path.relpath(os.path.join(folder, name), root) for folder, _folders, names in os.walk(root)
                   for name in names)
    shutil.rmtree(root)
    return found


def row(tmp, collections, files):
    days = files // 2 // 24
    return compare(
        "prune, {:,} files in {} folders".format(files, FOLDERS),
        ("find -mtime +%d -delete" % days,
         lambda root: run(["find", root, "-type", "f", "-mtime", "+%d" % days, "-delete"])),
        ("prune", lambda root: run_module(collections, "prune", path=root, recurse=True, age="%dd" % (days + 1),
                                          min_keep=0)),
        prepare=Layout(tmp, files), outcome=lambda root, _value: left(root), target=(1.3, "cpu"))


def rows(files=20000, larger=200000):
    tmp = scratch()
    try:
        collections = collections_path(tmp)
        return [row(tmp, collections, files), row(tmp, collections, larger)]
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main(__doc__, rows)
