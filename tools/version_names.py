"""The collection's version, said once in galaxy.yml: the files that name the tarball
(upkeep-maintenance-VERSION.tar.gz) carry the version galaxy.yml says.

    python tools/version_names.py           rewrite them
    python tools/version_names.py --check   exit 1 when one names another version
"""

import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The execution environment's build files, and the install commands of the README.
FILES = ("execution-environment.yml", "meta/ee-collections.yml", "README.md", "docs/awx-project/collections/requirements.yml")
TARBALL = re.compile(r"upkeep-maintenance-[0-9][0-9A-Za-z.+-]*?\.tar\.gz")


def version():
    with open(os.path.join(ROOT, "galaxy.yml")) as handle:
        return re.search(r"^version:\s*(\S+)", handle.read(), re.MULTILINE).group(1)


def main():
    check = "--check" in sys.argv[1:]
    name = "upkeep-maintenance-%s.tar.gz" % version()
    stale = []
    for relative in FILES:
        path = os.path.join(ROOT, relative)
        with open(path) as handle:
            text = handle.read()
        wanted = TARBALL.sub(name, text)
        if wanted != text:
            stale.append(relative)
            if not check:
                with open(path, "w") as handle:
                    handle.write(wanted)
    if check and stale:
        print("%s name another version than galaxy.yml's: run make readmes" % ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
