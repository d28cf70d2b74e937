# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Durations and sizes as people write them in inventories (26h, 7d, 10M) and as reports print them, and the time
stamps of the results contract and of the files the modules write."""

import calendar
import datetime
import math
import re
import time

DURATION_UNITS = dict(s=1, m=60, h=3600, d=86400, w=604800)
SIZE_UNITS = dict(b=1, k=1024, m=1024 ** 2, g=1024 ** 3, t=1024 ** 4)
# A thousand years and an exbibyte: anything larger is a typing error, and would overflow what uses it.
MAX_SECONDS = 1000 * 366 * 86400
MAX_BYTES = 1024 ** 6
# The time stamps of the results contract, window records and reports (UTC, ISO 8601, to the second), and the compact
# one in the names of the files the modules write (backups, replaced contents).
STAMP = "%Y-%m-%dT%H:%M:%SZ"
FILE_STAMP = "%Y%m%dT%H%M%SZ"


def utc_stamp(moment, form=STAMP):
    """A moment, a datetime that knows its zone or POSIX seconds, as a UTC time stamp."""
    if isinstance(moment, datetime.datetime):
        return moment.astimezone(datetime.timezone.utc).strftime(form)
    return time.strftime(form, time.gmtime(moment))


def stamp_seconds(stamp):
    """POSIX seconds of a time stamp of the results contract."""
    return calendar.timegm(time.strptime(stamp, STAMP))


def parse_duration(value):
    """Seconds from ``90m``, ``26h``, ``7d``, ``2w`` or a number of seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        # Blanks are stripped before matching: blanks on both sides of an optional part make the match quadratic.
        match = re.match(r"^(\d+(?:\.\d+)?) *([smhdw]?)$", str(value).strip().lower())
        if not match:
            raise ValueError("%r is not a duration such as 90m, 26h, 7d or a number of seconds" % (value,))
        seconds = float(match.group(1)) * DURATION_UNITS.get(match.group(2) or "s")
    if not math.isfinite(seconds) or abs(seconds) > MAX_SECONDS:
        raise ValueError("%r is not a duration such as 90m, 26h, 7d: too large" % (value,))
    return seconds


def parse_size(value):
    """Bytes from ``512k``, ``10M``, ``1.5G`` (powers of 1024) or a number of bytes."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = re.match(r"^(\d+(?:\.\d+)?) *([bkmgt]?)(?:i?b)?$", str(value).strip().lower())
    if not match:
        raise ValueError("%r is not a size such as 512k, 10M, 1.5G or a number of bytes" % (value,))
    size = float(match.group(1)) * SIZE_UNITS[match.group(2) or "b"]
    if not math.isfinite(size) or size > MAX_BYTES:
        raise ValueError("%r is not a size such as 512k, 10M, 1.5G: too large" % (value,))
    return int(size)


def human_duration(seconds):
    """``45 s``, ``90 min``, ``26 h``, ``30 d``: the unit an operator would use, one decimal only where it matters."""
    for unit, size, below in (("s", 1, 120), ("min", 60, 7200), ("h", 3600, 259200)):
        if abs(seconds) < below:
            break
    else:
        unit, size = "d", 86400
    value = seconds / size
    value = round(value) if abs(value) >= 100 or unit == "s" else round(value, 1)
    return "%s %s" % (("%d" % value) if value == int(value) else ("%.1f" % value), unit)


def human_bytes(count):
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024:
            return ("%d %s" % (value, unit)) if unit == "B" else ("%.1f %s" % (value, unit))
        value /= 1024
    return "%.1f TiB" % value


def plural(count, noun, nouns=None):
    """``1 host``, ``2 hosts``: a count with its noun as people write it."""
    return "%d %s" % (count, noun if count == 1 else (nouns or noun + "s"))
