"""The table of checks in docs/results.md, from the registry of checks (CHECKS in plugins/module_utils/_results.py).

    python tools/results_table.py           rewrite the table
    python tools/results_table.py --check   exit 1 when the table differs from the registry
"""

import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))

from collection import linked_collections_path  # noqa: E402  (tests/support/collection.py)
from generated import settle  # noqa: E402

DOC = os.path.join(ROOT, "docs", "results.md")
BEGIN = "<!-- BEGIN: generated from CHECKS in plugins/module_utils/_results.py by tools/results_table.py -->"
END = "<!-- END: generated -->"


def registry():
    with tempfile.TemporaryDirectory(prefix="upkeep-collections-") as base:
        sys.path.insert(0, linked_collections_path(base))
        from ansible_collections.upkeep.maintenance.plugins.module_utils._results import CHECKS
        sys.path.remove(base)
    return CHECKS


def table(checks):
    lines = ["| check | written by | statuses | recommendation in the report |", "|---|---|---|---|"]
    lines += ["| `%s` | %s | %s | %s |" % (name, check.emitter, check.statuses, check.recommendation or "")
              for name, check in sorted(checks.items())]
    return "\n".join(lines)


def rendered(document, checks):
    before, rest = document.split(BEGIN, 1)
    after = rest.split(END, 1)[1]
    return "%s%s\n%s\n%s%s" % (before, BEGIN, table(checks), END, after)


def main(argv):
    checks = registry()
    return settle([DOC], lambda _path, document: rendered(document, checks), argv,
                  "the registry of checks says otherwise, run python tools/results_table.py")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
