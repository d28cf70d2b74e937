# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


class ModuleDocFragment(object):

    # Options of every SQLite module (module_utils._sqlite.SQLITE_COMMON_ARGUMENT_SPEC).
    DOCUMENTATION = r"""
options:
  path:
    description:
      - Path of the SQLite database file on the managed host.
      - The file must exist; the modules never create a database.
    type: path
    required: true
  busy_timeout:
    description:
      - Seconds to wait for another connection to release its lock on the database before failing.
    type: float
    default: 30
requirements:
  - Python 3.9 or newer on the managed host, with its standard C(sqlite3) module.
notes:
  - The modules report their findings in the collection's results contract as RV(ignore:upkeep_results);
    see C(docs/results.md) in the collection.
"""

    # Thresholds that decide whether VACUUM is worth it (module_utils._sqlite.VACUUM_THRESHOLD_ARGUMENT_SPEC).
    VACUUM_THRESHOLDS = r"""
options:
  min_freelist_ratio:
    description:
      - VACUUM is due when the free pages are at least this share of all pages (0.1 is 10 %)
        and at least O(min_freelist_pages).
    type: float
    default: 0.1
  min_freelist_pages:
    description:
      - VACUUM is due only when at least this many pages are free, so that small databases are not rewritten for little gain.
    type: int
    default: 256
"""

    # How thoroughly a database is checked (module_utils._sqlite.INTEGRITY_ARGUMENT_SPEC).
    INTEGRITY = r"""
options:
  integrity:
    description:
      - V(full) runs C(PRAGMA integrity_check), which also verifies that every index matches its table.
      - V(quick) runs C(PRAGMA quick_check), which skips the index comparison and is much faster on large databases.
    type: str
    choices: [full, quick]
    default: full
"""
