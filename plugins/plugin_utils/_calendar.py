# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One calendar of a scheduled run, said once and written as a cron entry, a systemd OnCalendar and an AWX RRULE.

Every field restricts the run (they combine with AND everywhere, unlike cron's day-or-weekday), so that "the first
Saturday of the month" is weekday sat with week_of_month 1 on all three schedulers. A calendar is in the time zone its
timezone names (an IANA name such as Europe/Berlin; UTC by default): systemd and AWX take the zone as it is; cron, whose
daemon on the control host keeps UTC, runs at every UTC moment the local one can fall on, and a guard asks the local
time."""

import datetime
import zoneinfo

from ansible.errors import AnsibleFilterError

from ansible_collections.upkeep.maintenance.plugins.module_utils._units import STAMP, parse_duration

WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
SYSTEMD_WEEKDAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")
RRULE_WEEKDAYS = ("SU", "MO", "TU", "WE", "TH", "FR", "SA")
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
# name: (first, last, names for first.., default)
FIELDS = (
    ("minute", 0, 59, None, "0"),
    ("hour", 0, 23, None, "*"),
    ("day", 1, 31, None, "*"),
    ("month", 1, 12, MONTHS, "*"),
    ("weekday", 0, 7, WEEKDAYS, "*"),
)
# playbook and limit belong to the run the calendar is part of.
KNOWN = set(field[0] for field in FIELDS) | {"week_of_month", "timezone", "playbook", "limit"}
# strftime forms of the fields a cron guard compares with the local time, unpadded as the calendar's values are.
GUARD_FORMS = (("minute", "-M"), ("hour", "-H"), ("day", "-d"), ("month", "-m"), ("weekday", "w"))


def _value(text, names, first, field):
    text = text.strip().lower()
    if names and text[:3] in names and text.isalpha():
        return names.index(text[:3]) + first
    try:
        return int(text)
    except ValueError:
        raise AnsibleFilterError("calendar %s: %r is neither a number nor a name" % (field, text))


def _expand(field, spec, first, last, names):
    """The values a cron-style field (*, */n, a-b, a-b/n, lists, names) stands for."""
    values = set()
    for part in str(spec).split(","):
        part, _slash, step = part.partition("/")
        step = int(step) if step.strip().isdigit() else (None if not _slash else 0)
        if step == 0:
            raise AnsibleFilterError("calendar %s: the step of %r must be a positive number" % (field, spec))
        if part.strip() == "*":
            low, high = first, last
        elif "-" in part:
            low, high = (_value(bound, names, first, field) for bound in part.split("-", 1))
        else:
            low = high = _value(part, names, first, field)
            if step:
                high = last
        if not first <= low <= high <= last:
            raise AnsibleFilterError("calendar %s: %r is outside %d-%d" % (field, spec, first, last))
        values.update(range(low, high + 1, step or 1))
    return values


def _list(values, width=0):
    return ",".join("%0*d" % (width, value) for value in sorted(values))


def _zone(spec, run):
    name = spec.get("timezone") or "UTC"
    try:
        return name, zoneinfo.ZoneInfo(str(name))
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        raise AnsibleFilterError("the calendar of %s: %r is not an IANA time zone such as Europe/Berlin" % (run, name))


def _offsets(zone):
    """The UTC offsets, in minutes, a zone has over the next years (its standard and its summer time)."""
    today = datetime.datetime.now(datetime.timezone.utc).replace(hour=12, minute=0, second=0, microsecond=0)
    return sorted(set(int((today + datetime.timedelta(days=day)).astimezone(zone).utcoffset().total_seconds() // 60)
                      for day in range(0, 3 * 366, 7)))


def _sets(spec, run):
    """The values each field of a calendar allows (weekday 0 is Sunday), and which fields were left open (*)."""
    if not isinstance(spec, dict):
        raise AnsibleFilterError("the calendar of %s must be a dict of minute, hour, day, month, weekday and week_of_month" % run)
    unknown = sorted(set(spec) - KNOWN)
    if unknown:
        raise AnsibleFilterError("the calendar of %s has unknown fields: %s" % (run, ", ".join(unknown)))
    sets, full = {}, {}
    for name, first, last, names, default in FIELDS:
        text = str(spec.get(name, default))
        sets[name] = _expand("%s of %s" % (name, run), text, first, last, names)
        full[name] = text.strip() == "*"
    sets["weekday"] = set(value % 7 for value in sets["weekday"])
    if spec.get("week_of_month") is not None:
        week = int(spec["week_of_month"])
        if not 1 <= week <= 5 or not full["day"]:
            raise AnsibleFilterError("calendar of %s: week_of_month is 1 to 5 and replaces day" % run)
        sets["day"], full["day"] = set(range(week * 7 - 6, min(week * 7, 31) + 1)), False
    return sets, full


def _cron(sets, full, timezone, zone):
    """The cron fields and the guard that runs the entry at the calendar's moments, cron keeping UTC."""
    if timezone == "UTC":
        # cron runs a job when day OR weekday matches once both are restricted: the day moves into a guard of the job.
        cron_day = "*" if full["day"] or not full["weekday"] else _list(sets["day"])
        guard = ""
        if not full["day"] and not full["weekday"]:
            guard = "date +\\%%-d | grep -qxE '%s' && " % "|".join(str(day) for day in sorted(sets["day"]))
        return dict(minute=_list(sets["minute"]), hour="*" if full["hour"] else _list(sets["hour"]), day=cron_day,
                    month="*" if full["month"] else _list(sets["month"]),
                    weekday="*" if full["weekday"] else _list(sets["weekday"])), guard
    # Every UTC hour and minute a local one falls on in standard and in summer time; the local date may be another
    # day than UTC's, so the guard asks the whole local time.
    moments = set((hour * 60 + minute - offset) % 1440 for hour in sets["hour"] for minute in sets["minute"]
                  for offset in _offsets(zone))
    hours = set(moment // 60 for moment in moments)
    cron = dict(minute=_list(set(moment % 60 for moment in moments)), hour="*" if len(hours) == 24 else _list(hours),
                day="*", month="*", weekday="*")
    forms = " ".join("\\%%%s" % form for _name, form in GUARD_FORMS)
    pattern = " ".join("[0-9]+" if full[name] else "(%s)" % "|".join(str(value) for value in sorted(sets[name]))
                       for name, _form in GUARD_FORMS)
    return cron, "TZ=%s date +'%s' | grep -qxE '%s' && " % (timezone, forms, pattern)


def calendar(spec, run="run"):
    """The cron fields and guard, systemd OnCalendar and RRULE of a calendar (a dict of cron-style fields), and its
    time zone, which AWX's DTSTART names."""
    sets, full = _sets(spec, run)
    timezone, zone = _zone(spec, run)
    cron, guard = _cron(sets, full, timezone, zone)
    weekdays = "" if full["weekday"] else ",".join(SYSTEMD_WEEKDAYS[day] for day in sorted(sets["weekday"])) + " "
    on_calendar = "%s*-%s-%s %s:%s:00 %s" % (
        weekdays, "*" if full["month"] else _list(sets["month"], 2), "*" if full["day"] else _list(sets["day"], 2),
        "*" if full["hour"] else _list(sets["hour"], 2), _list(sets["minute"], 2), timezone)
    rule = ["FREQ=DAILY", "INTERVAL=1", "BYMINUTE=" + _list(sets["minute"]), "BYHOUR=" + _list(sets["hour"])]
    if not full["day"]:
        rule.append("BYMONTHDAY=" + _list(sets["day"]))
    if not full["month"]:
        rule.append("BYMONTH=" + _list(sets["month"]))
    if not full["weekday"]:
        rule.append("BYDAY=" + ",".join(RRULE_WEEKDAYS[day] for day in sorted(sets["weekday"])))
    return dict(cron=cron, cron_guard=guard, on_calendar=on_calendar, rrule="RRULE:" + ";".join(rule), timezone=timezone)


def _local_moments(sets, moment):
    """The moments the calendar names from a local moment on, in local time, day by day for at most the eight years
    in which every weekday falls on every date of every month."""
    for _days in range(366 * 8):
        weekday = (moment.weekday() + 1) % 7
        if moment.month in sets["month"] and moment.day in sets["day"] and weekday in sets["weekday"]:
            for hour in sorted(hour for hour in sets["hour"] if hour >= moment.hour):
                for minute in sorted(sets["minute"]):
                    candidate = moment.replace(hour=hour, minute=minute)
                    if candidate >= moment:
                        yield candidate
        moment = (moment + datetime.timedelta(days=1)).replace(hour=0, minute=0)


def next_run(spec, after, run="run"):
    """The first moment after ``after`` (a UTC time such as 2026-11-25T21:37:00Z) that the calendar names, as the same
    kind of UTC time; every field must match, as on every scheduler the calendar filter writes it for. A local time
    that a change to summer time skips names no moment that day."""
    sets = _sets(spec, run)[0]
    _name, zone = _zone(spec, run)
    try:
        start = datetime.datetime.strptime(after, STAMP)
    except (TypeError, ValueError):
        raise AnsibleFilterError("next_run wants a UTC time such as 2026-11-25T21:37:00Z, got %r" % (after,))
    first = start.replace(second=0, tzinfo=datetime.timezone.utc) + datetime.timedelta(minutes=1)
    # From an hour before in local time, so that no local moment the UTC one falls after is missed.
    local = (first.astimezone(zone) - datetime.timedelta(hours=1)).replace(tzinfo=None)
    for candidate in _local_moments(sets, local):
        placed = candidate.replace(tzinfo=zone)
        moment = placed.astimezone(datetime.timezone.utc)
        if moment >= first and moment.astimezone(zone).replace(tzinfo=None) == candidate:
            return moment.strftime(STAMP)
    raise AnsibleFilterError("the calendar of %s names no moment in eight years" % run)


def next_window(spec, after, run="run"):
    """next_run of a host's window_calendar: one calendar, or one per window of the host (its weekly's and its
    monthly's), the soonest."""
    return min(next_run(calendar, after, run) for calendar in (spec if isinstance(spec, list) else [spec]))


# The playbooks whose runs open a maintenance window on their hosts.
WINDOW_PLAYBOOKS = ("upkeep.maintenance.weekly", "upkeep.maintenance.monthly")


def _limit_hosts(limit, groups):
    """The hosts of a run's --limit, read as Ansible reads a pattern (names joined by , or :, &name to intersect,
    !name to exclude); a name that is no group stands for a host of that name."""
    every = set(groups.get("all") or [])
    chosen, intersect, exclude = set(), [], set()
    for name in [part.strip() for part in str(limit or "all").replace(":", ",").split(",") if part.strip()]:
        bare = name.lstrip("&!")
        members = set(groups[bare]) if bare in groups else {bare}
        if name.startswith("&"):
            intersect.append(members)
        elif name.startswith("!"):
            exclude |= members
        else:
            chosen |= members if bare != "all" else every
    for members in intersect:
        chosen &= members
    return chosen - exclude


def window_duration(value, window):
    """window_max_duration as the window role reads it: one duration, or one per window name (the run's playbook);
    any window's longest when no window is named."""
    if isinstance(value, dict):
        if window is None:
            return max(value.values(), key=lambda duration: parse_duration(duration or "0")) if value else ""
        return value.get(window) or ""
    return value or ""


def _window_length(hosts, hostvars, estimate, run, window):
    longest = 0
    for host in hosts:
        duration = window_duration((hostvars.get(host) or {}).get("window_max_duration"), window) or estimate
        try:
            longest = max(longest, parse_duration(duration))
        except ValueError as error:
            raise AnsibleFilterError("the window of %s in %s: %s" % (host, run, error))
    return longest


def overlapping_windows(runs, groups, hostvars, estimate="3h", start=None, days=366):
    """Sentences naming each two runs of a schedule whose maintenance windows overlap on a host within the next year
    (the second window would find the first one's: one waits, then leaves the host out), [] when none do. A window
    lasts its hosts' longest window_max_duration, else the estimate."""
    start = start or datetime.datetime.now(datetime.timezone.utc).strftime(STAMP)
    end = datetime.datetime.strptime(start, STAMP) + datetime.timedelta(days=days)
    windows = []
    for name in sorted(runs or {}):
        spec = runs[name]
        playbook = spec.get("playbook") or "upkeep.maintenance." + name
        if playbook not in WINDOW_PLAYBOOKS:
            continue
        hosts = _limit_hosts(spec.get("limit"), groups)
        length = datetime.timedelta(seconds=_window_length(sorted(hosts), hostvars, estimate, name,
                                                           playbook.rsplit(".", 1)[1]))
        moments, after = [], start
        while True:
            after = next_run(spec, after, name)
            opens = datetime.datetime.strptime(after, STAMP)
            if opens > end:
                break
            moments.append((opens, opens + length))
        windows.append((name, hosts, moments))
    found = []
    for index, (first, first_hosts, first_moments) in enumerate(windows):
        for second, second_hosts, second_moments in windows[index + 1:]:
            shared = first_hosts & second_hosts
            clash = next(((one, two) for one in first_moments for two in second_moments
                          if one[0] < two[1] and two[0] < one[1]), None) if shared else None
            if clash:
                found.append("the windows of %s and %s overlap on %s, first at %s and %s (UTC): move one, or make "
                             "them shorter (window_max_duration)" % (
                                 first, second, ", ".join(sorted(shared)), clash[0][0].strftime("%Y-%m-%d %H:%M"),
                                 clash[1][0].strftime("%Y-%m-%d %H:%M")))
    return found


def window_notices(hostvars, hosts, now, announced=None):
    """The scheduled windows of the hosts that start within their notice and were not announced yet: the message to
    send, the windows (host, start, services, duration) and what is announced once it is sent."""
    announced = dict(announced or {})
    moment = datetime.datetime.strptime(now, STAMP)
    due = []
    for host in hosts:
        variables = hostvars.get(host, {})
        spec = variables.get("window_calendar")
        if not spec:
            continue
        start = next_window(spec, now, "the window of %s" % host)
        try:
            notice = parse_duration(variables.get("window_notice_before") or "24h")
        except ValueError as error:
            raise AnsibleFilterError("window_notice_before of %s: %s" % (host, error))
        begins = datetime.datetime.strptime(start, STAMP)
        if begins - moment > datetime.timedelta(seconds=notice) or announced.get(host) == start:
            continue
        services = list(variables.get("window_services") or []) + [
            "%s/%s" % (project.get("project") or project.get("project_dir", "").rstrip("/").split("/")[-1], service)
            for project in variables.get("window_compose_projects") or [] for service in project.get("services") or ["*"]]
        due.append(dict(host=host, start=start, services=services,
                        duration=window_duration(variables.get("window_max_duration"), None),
                        reason=variables.get("window_notice_text") or ""))
        announced[host] = start
    if not due:
        return dict(text=None, windows=[], announced=announced)
    lines = []
    for start in sorted(set(window["start"] for window in due)):
        hours = (datetime.datetime.strptime(start, STAMP) - moment).total_seconds() / 3600
        lines.append("Maintenance window %s UTC (in %.0f h):" % (start.replace("T", " ").replace("Z", ""), hours))
        lines.extend("- %s: %s stopped%s%s" % (
            window["host"], ", ".join(window["services"]) or "no service", ", up to %s" % window["duration"]
            if window["duration"] else "", "; %s" % window["reason"] if window["reason"] else "")
            for window in due if window["start"] == start)
    return dict(text="\n".join(lines), windows=due, announced=announced)
