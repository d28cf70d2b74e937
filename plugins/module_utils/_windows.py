# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The record a maintenance window keeps on its host while it is open: maintenance_window writes it when the window
opens and removes it when it closes; host_health reads it to tell what the window stopped from what failed."""

import json
import time

from ansible_collections.upkeep.maintenance.plugins.module_utils._compose import project_name
from ansible_collections.upkeep.maintenance.plugins.module_utils._units import stamp_seconds

STATE_FILE = "/var/lib/upkeep/maintenance-window.json"


def read_record(path):
    """The open window's record, or None when no window is open. ValueError for a record that cannot be read."""
    try:
        with open(path) as stream:
            record = json.load(stream)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise ValueError("cannot read the window record %s: %s" % (path, error))
    if not isinstance(record, dict) or not record.get("opened"):
        raise ValueError("cannot read the window record %s: it is not a window's record" % path)
    return record


def past_deadline(record, moment=None):
    """Whether the window has a deadline and it has passed."""
    return bool(record.get("deadline")) and (time.time() if moment is None else moment) >= stamp_seconds(record["deadline"])


def stopped_services(record):
    """The window's stopped services, and its stopped Compose services as {project: [service, ...]}."""
    projects = {}
    for spec in record.get("compose") or []:
        projects.setdefault(project_name(spec), []).extend(spec.get("services") or [])
    return list(record.get("services") or []), projects
