# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The record a maintenance window keeps on its host while it is open: maintenance_window writes it when the window
opens and removes it when it closes; host_health reads it to tell what the window stopped from what failed. And what
maintenance_window weighs besides: the preflight before the window opens, the logs it watches after it closes."""

import json
import os
import re
import time

from ansible_collections.upkeep.maintenance.plugins.module_utils._compose import project_name
from ansible_collections.upkeep.maintenance.plugins.module_utils._files import expand_glob, space_by_file_system
from ansible_collections.upkeep.maintenance.plugins.module_utils._health import load_per_core
from ansible_collections.upkeep.maintenance.plugins.module_utils._logs import scan

from ansible_collections.upkeep.maintenance.plugins.module_utils._units import human_bytes, parse_size, stamp_seconds

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


def source_size(path):
    """Bytes of a file with its -wal journal, or of every file under a folder; 0 for what does not exist."""
    if os.path.isdir(path):
        total = 0
        for folder, _dirs, files in os.walk(path):
            for name in files:
                try:
                    total += os.lstat(os.path.join(folder, name)).st_size
                except OSError:
                    pass
        return total
    total = 0
    for candidate in (path, path + "-wal"):
        try:
            total += os.stat(candidate).st_size
        except OSError:
            pass
    return total


def existing_ancestor(path):
    path = os.path.abspath(path)
    while not os.path.exists(path):
        path = os.path.dirname(path)
    return path


def mount_point(path):
    path = os.path.realpath(path)
    while not os.path.ismount(path):
        path = os.path.dirname(path)
    return path


def space_needs(items, factor, min_free):
    """Per file system: what the backups need against what is available."""
    needs = []
    for item in items:
        folder = existing_ancestor(item["dest"])
        needs.append((folder, 0, None))
        needs.extend((folder, int(source_size(source) * factor), source) for source in item.get("sources") or [])
    return [dict(mount=mount_point(fs["folder"]), needed=fs["needed"] + min_free, available=fs["available"],
                 sources=fs["labels"]) for fs in space_by_file_system(needs)]


def preflight(params):
    """The figures, and a list of reasons the window cannot open (empty when it can)."""
    load = dict(load_per_core(), max_load=params["max_load"])
    problems = []
    if params["max_load"] and load["per_core"] > params["max_load"]:
        problems.append("five-minute load is %.2f per core, above %.2f (%d cores)" % (
            load["per_core"], params["max_load"], load["cores"]))
    space = space_needs(params["space"], params["space_factor"], parse_size(params["min_free"]))
    for need in space:
        if need["available"] < need["needed"]:
            problems.append("%s has %s free, the window's backups need %s" % (
                need["mount"], human_bytes(need["available"]), human_bytes(need["needed"])))
    return dict(load=load, space=space), problems


def count_errors_since(paths, patterns, since):
    """Error lines stamped at or after ``since`` in the logs; unreadable logs count nothing."""
    matchers = [re.compile(pattern) for pattern in patterns]
    count, now = 0, time.time()
    for path in [found for glob_path in paths for found in expand_glob(glob_path)]:
        try:
            count += scan(path, matchers, since, now)[0]
        except OSError:
            continue
    return count
