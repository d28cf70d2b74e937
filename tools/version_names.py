"""The collection's version, said once in galaxy.yml: the files that name the tarball
(upkeep-maintenance-VERSION.tar.gz) carry the version galaxy.yml says.

    python tools/version_names.py           rewrite them
    python tools/version_names.py --check   exit 1 when one names another version
"""

import os
import re
import sys

from generated import ROOT, settle

# The execution environment's build files, and the install commands of the README.
FILES = ("execution-environment.yml", "meta/ee-collections.yml", "README.md", "docs/awx-project/collections/requirements.yml")
TARBALL = re.compile(r"upkeep-maintenance-[0-9][0-9A-Za-z.+-]*?\.tar\.gz")


def version():
    with open(os.path.join(ROOT, "galaxy.yml")) as handle:
        return re.search(r"^version:\s*(\S+)", handle.read(), re.MULTILINE).group(1)


def main(argv):
    name = "upkeep-maintenance-%s.tar.gz" % version()
    return settle([os.path.join(ROOT, relative) for relative in FILES], lambda _path, text: TARBALL.sub(name, text), argv,
                  "they name another version than galaxy.yml's, run make readmes")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
