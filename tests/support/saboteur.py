"""Breaks a database in the middle of a maintenance window: as soon as a new backup of it appears (the window's
pre-maintenance backup), a file of garbage is renamed over it, the way a bad deploy or a failing disk leaves a database
that no longer reads. The maintenance then fails, or the application cannot come back, and the rollback must put the
database back.

    python saboteur.py DATABASE BACKUP_FOLDER [SECONDS]
"""

import os
import sys
import time


def backups(folder):
    if not os.path.isdir(folder):
        return set()
    return set(name for name in os.listdir(folder) if name.endswith(".db") and not name.startswith("."))


def main(argv):
    database, folder = argv[0], argv[1]
    deadline = time.monotonic() + (float(argv[2]) if len(argv) > 2 else 600)
    existing = backups(folder)
    while time.monotonic() < deadline:
        if backups(folder) - existing:
            with open(database + ".broken", "w") as garbage:
                garbage.write("not a database\n" * 100)
            os.rename(database + ".broken", database)
            return 0
        time.sleep(0.02)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
