"""The backups role's sets completed from their kind: the freshness limit follows how often a set is taken, so a set
the weekly run takes is not stale three days later, while a nightly job's set is after a day and some slack."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.upkeep.maintenance.plugins.filter.backups import backup_sets

BY_CADENCE = {"daily": "26h", "weekly": "8d", "monthly": "32d"}
SETS = [{"name": "app-pg", "kind": "postgresql", "source": "app"},
        {"name": "nightly", "kind": "external", "dest": "/mnt/nightly"},
        {"name": "archive", "kind": "external", "dest": "/mnt/archive", "cadence": "monthly"},
        {"name": "own", "kind": "folder", "source": "/etc/app", "max_age": "2d"}]


def limits(sets, max_age=""):
    return dict((backup["name"], (backup["cadence"], backup["max_age"]))
                for backup in backup_sets(sets, "/var/backups/upkeep", max_age, BY_CADENCE))


def test_each_set_is_as_fresh_as_its_cadence_asks():
    assert limits(SETS) == {"app-pg": ("weekly", "8d"), "nightly": ("daily", "26h"), "archive": ("monthly", "32d"),
                            "own": ("weekly", "2d")}


def test_a_role_wide_limit_applies_to_the_sets_without_their_own():
    assert limits(SETS, "3d") == {"app-pg": ("weekly", "3d"), "nightly": ("daily", "3d"), "archive": ("monthly", "3d"),
                                  "own": ("weekly", "2d")}


def test_a_cadence_without_a_limit_is_named():
    with pytest.raises(AnsibleFilterError, match="archive: no freshness limit for the cadence monthly"):
        backup_sets(SETS, "/var/backups/upkeep", "", {"daily": "26h", "weekly": "8d"})
    with pytest.raises(AnsibleFilterError, match="cadence must be one of daily, weekly, monthly"):
        backup_sets([dict(SETS[0], cadence="hourly")], "/var/backups/upkeep")
