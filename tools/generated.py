"""What the generators of tools/ share: each rewrites the generated part of some files, or with --check only says
which files differ from what it would write (make lint runs them so)."""

import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def settle(paths, wanted, argv, hint):
    """Rewrite each of ``paths`` to ``wanted(path, current text)``; with --check in ``argv``, write nothing and print
    the files that differ with ``hint``. Returns the exit status."""
    check = "--check" in argv
    stale = []
    for path in paths:
        current = open(path).read() if os.path.exists(path) else ""
        text = wanted(path, current)
        if text != current:
            stale.append(os.path.relpath(path, ROOT))
            if not check:
                with open(path, "w") as handle:
                    handle.write(text)
    if check and stale:
        print("%s differ from what generates them: %s" % (", ".join(stale), hint))
        return 1
    return 0
