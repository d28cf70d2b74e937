# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Time stamps of log lines, in the forms applications, syslog and web servers write them, and the lines of a log
that match since a moment."""

import calendar
import os
import re
import time

from ansible_collections.upkeep.maintenance.plugins.module_utils._files import expand_glob, is_glob, is_regular_file, open_regular
from ansible_collections.upkeep.maintenance.plugins.module_utils._results import result_entry
from ansible_collections.upkeep.maintenance.plugins.module_utils._units import human_duration, utc_stamp

MONTHS = dict((name, number) for number, name in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1))
ISO = re.compile(r"^\S*?(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,]\d+)?(Z|[+-]\d{2}:?\d{2})?")
SYSLOG = re.compile(r"^([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2})")
# JSON lines: the time stamp is the value of a time key, wherever the key is in the object.
JSON_TIME = re.compile(r'"(?:@?timestamp|time|ts|asctime|datetime|date)" ?: ?"'
                       r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,]\d+)?(Z|[+-]\d{2}:?\d{2})?")
ACCESS = re.compile(r"\[(\d{2})/([A-Z][a-z]{2})/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})\]")


def offset_seconds(zone):
    if not zone or zone == "Z":
        return 0
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    return sign * (int(digits[:2]) * 3600 + int(digits[2:4]) * 60)


def line_time(line, now):
    """Seconds since the epoch of the line's time stamp, or None, also for a stamp that names no real moment (month
    13, day 0). Stamps without a zone are local time."""
    try:
        return _line_time(line, now)
    except (ValueError, OverflowError):
        return None


def _iso_moment(match):
    fields = [int(value) for value in match.groups()[:6]]
    if not (1 <= fields[1] <= 12 and 1 <= fields[2] <= 31 and fields[3] < 24 and fields[4] < 60 and fields[5] < 61):
        return None
    if match.group(7):
        return calendar.timegm(tuple(fields) + (0, 0, 0)) - offset_seconds(match.group(7))
    return time.mktime(tuple(fields) + (0, 0, -1))


def _line_time(line, now):
    match = ISO.match(line) or (JSON_TIME.search(line[:500]) if line.startswith("{") else None)
    if match:
        return _iso_moment(match)
    match = SYSLOG.match(line)
    if match and match.group(1) in MONTHS:
        year = time.localtime(now).tm_year
        moment = time.mktime((year, MONTHS[match.group(1)], int(match.group(2)), int(match.group(3)),
                              int(match.group(4)), int(match.group(5)), 0, 0, -1))
        # Syslog stamps have no year: a date ahead of now belongs to last year.
        return moment if moment <= now + 86400 else time.mktime(
            (year - 1, MONTHS[match.group(1)], int(match.group(2)), int(match.group(3)), int(match.group(4)),
             int(match.group(5)), 0, 0, -1))
    match = ACCESS.search(line[:200])
    if match and match.group(2) in MONTHS:
        zone = (-1 if match.group(7) == "-" else 1) * (int(match.group(8)) * 3600 + int(match.group(9)) * 60)
        return calendar.timegm((int(match.group(3)), MONTHS[match.group(2)], int(match.group(1)), int(match.group(4)),
                                int(match.group(5)), int(match.group(6)), 0, 0, 0)) - zone
    return None


def scan(path, patterns, since, now):
    """(lines matching one of the patterns stamped at or after since, first, last): a line without a stamp takes the
    last one above it, or the file's time; lines are read as bytes and decoded leniently."""
    matches, first, last, current, stamped = 0, None, None, None, False
    with open_regular(path) as stream:
        for raw in stream:
            line = raw.decode("utf-8", "replace")
            moment = line_time(line, now)
            if moment is not None:
                current, stamped = moment, True
            if not any(pattern.search(line) for pattern in patterns):
                continue
            when = current if stamped else os.path.getmtime(path)
            if when is not None and when >= since:
                matches += 1
                first = when if first is None else min(first, when)
                last = when if last is None else max(last, when)
    return matches, first, last


def expand_files(files, patterns, warning, critical):
    """(path, compiled patterns, warning, critical, the file as given, whether it has limits of its own) for every
    file, globs expanded: each file is a path or a dict with path and its own patterns, warning and critical.
    ValueError names a bad one."""
    wanted = []
    for spec in files:
        spec = spec if isinstance(spec, dict) else dict(path=spec)
        if not spec.get("path"):
            raise ValueError("every file needs a path: %r" % (spec,))
        try:
            compiled = [re.compile(pattern) for pattern in spec.get("patterns") or patterns]
        except re.error as error:
            raise ValueError("%s: bad pattern: %s" % (spec["path"], error))
        try:
            limits = int(spec.get("warning", warning)), int(spec.get("critical", critical))
        except (TypeError, ValueError):
            raise ValueError("%s: warning and critical must be whole numbers of lines" % spec["path"])
        for path in expand_glob(spec["path"]):
            # A glob may match pipes and sockets beside the logs (a FIFO log sink, say): only regular files are read.
            if is_glob(spec["path"]) and not is_regular_file(path):
                continue
            wanted.append((path, compiled) + limits + (spec["path"], "warning" in spec or "critical" in spec))
    return wanted


def _judged(matches, warning, critical):
    return "critical" if matches > critical else "warning" if matches > warning else "ok"


def _limits(window, warning, critical):
    return "in %s (warning above %d, critical above %d)" % (human_duration(window), warning, critical)


def count_errors(files, patterns, window, warning, critical):
    """(a result per file, the log_errors entries) of the lines matching within the last window seconds. The files
    are judged together against warning and critical, as a runbook's "more than 100 errors in the week" means all of
    a host's logs, in one entry with each file's count in its details; a file with limits of its own is judged on
    its own, and one that cannot be read is a failed entry of its own."""
    now = time.time()
    results, entries, pooled, given = [], [], [], []
    expanded = expand_files(files, patterns, warning, critical)
    for path, compiled, file_warning, file_critical, spec_path, own_limits in expanded:
        try:
            matches, first, last = scan(path, compiled, now - window, now)
        except (IOError, OSError) as error:
            result = dict(path=path, matches=None, first=None, last=None, status="failed",
                          message="cannot read %s: %s" % (path, error.strerror or error))
        else:
            result = dict(path=path, matches=matches, first=None if first is None else utc_stamp(first),
                          last=None if last is None else utc_stamp(last),
                          status=_judged(matches, file_warning, file_critical),
                          message="%d matching lines %s" % (matches, _limits(window, file_warning, file_critical)))
        results.append(result)
        if own_limits or result["matches"] is None:
            entries.append(result_entry("log_errors", path, result["status"], result["message"],
                                        metrics=dict(matches=result["matches"]) if result["matches"] is not None else {}))
        else:
            pooled.append(result)
            given += [spec_path] if spec_path not in given else []
    if pooled:
        total = sum(result["matches"] for result in pooled)
        status = _judged(total, warning, critical)
        summary = "%d matching lines %s" % (total, _limits(window, warning, critical))
        if len(pooled) > 1:
            summary += " over %d files: %s" % (len(pooled), ", ".join(
                "%s %d" % (os.path.basename(result["path"]), result["matches"]) for result in pooled))
        for result in pooled:
            result["status"] = status
        entries.insert(0, result_entry("log_errors", ", ".join(given), status, summary, metrics=dict(matches=total),
                                       details=dict(files=[dict(path=result["path"], matches=result["matches"])
                                                           for result in pooled])))
    return results, entries
