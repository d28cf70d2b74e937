"""This working tree as Ansible finds a collection, for the tests, the benchmarks and the tools that import or run it."""

import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def linked_collections_path(base):
    """Lay out ``base`` as a collections path whose upkeep.maintenance is this tree; returns ``base``."""
    os.makedirs(os.path.join(base, "ansible_collections", "upkeep"))
    os.symlink(ROOT, os.path.join(base, "ansible_collections", "upkeep", "maintenance"))
    return base


def ansible_only_path(base):
    """Lay out ``base`` as an import path holding only the controller's ``ansible`` package, for modules run on
    another Python (a managed host's), which gets ansible-core's module_utils the way Ansiballz ships them; returns
    ``base``."""
    import ansible
    os.makedirs(base, exist_ok=True)
    os.symlink(os.path.dirname(ansible.__file__), os.path.join(base, "ansible"))
    return base
