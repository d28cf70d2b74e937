# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The results contract on the controller: collect entries from registered tasks, build a run's report, summarise it,
and write it as Markdown, Prometheus metrics and notifications (the upkeep_* filters of plugins/filter/results.py)."""

import json
import os
import re

from ansible.errors import AnsibleFilterError

from ansible_collections.upkeep.maintenance.plugins.plugin_utils._calendar import next_window
from ansible_collections.upkeep.maintenance.plugins.module_utils._results import CHECKS, STATUSES, result_entry, worst_status
from ansible_collections.upkeep.maintenance.plugins.module_utils._units import human_bytes, plural, stamp_seconds


def _items(registered):
    if not isinstance(registered, dict):
        raise AnsibleFilterError("upkeep_entries expects a registered task result, got %s" % type(registered).__name__)
    return registered.get("results", [registered])


def upkeep_entries(registered, check, target_key="path"):
    entries = []
    for item in _items(registered):
        if item.get("skipped"):
            continue
        own = item.get("upkeep_results", [])
        entries.extend(own)
        # A failure the module's own entries do not already report as critical becomes an entry of its own.
        if item.get("failed") and not any(entry["status"] in ("critical", "failed") for entry in own):
            loop_item = item.get("item") or item.get("invocation", {}).get("module_args") or {}
            target = loop_item.get(target_key, "") if isinstance(loop_item, dict) else str(loop_item)
            entries.append(result_entry(check, target, "failed", str(item.get("msg", "failed without a message")),
                                        details=dict(result=dict((key, item[key]) for key in ("rc", "stderr") if key in item))))
    return entries


def upkeep_entry(summary, check, target, status, metrics=None, details=None):
    """One entry made by a role for what a task without its own entries (a command, a handler) did."""
    try:
        return result_entry(check, target, status, summary, metrics=metrics, details=details)
    except ValueError as error:
        raise AnsibleFilterError("upkeep_entry: %s" % error)


def upkeep_report(hostvars, hosts, run, finished, registered=()):
    """``registered`` names the task results the roles register rather than record: dicts of var, check and key."""
    entries = []
    reached = []
    for host in hosts:
        variables = hostvars.get(host) or {}
        own = list(variables.get("upkeep_results") or [])
        # A host with a result of one of its roles' tasks, if only a skipped one, was reached.
        seen = bool(own)
        for spec in registered:
            result = variables.get(spec["var"])
            if not result:
                continue
            seen = True
            own.extend(upkeep_entries(result, spec["check"], spec.get("key", "path")))
        if seen:
            reached.append(host)
        # In the order they were made, whether recorded or registered.
        own.sort(key=lambda entry: entry.get("timestamp", ""))
        entries.extend(dict(entry, host=host) for entry in own)
    report = _report(run, list(hosts), entries, finished, reached)
    # The next scheduled window of each host that has its calendar (window_calendar), for the report's readers.
    report["next_windows"] = dict((host, next_window(hostvars[host]["window_calendar"], finished, "the window of %s" % host))
                                  for host in hosts if (hostvars.get(host) or {}).get("window_calendar"))
    return report


def upkeep_report_extend(report, entries, host):
    """The report with more entries, made on ``host`` after it was built (the controller's notifications)."""
    return dict(report, **_report(report["run"], report["hosts"],
                                  report["entries"] + [dict(entry, host=host) for entry in entries], report["finished"],
                                  set(report["hosts"]) - set(report["hosts_not_reached"])))


PROBLEMS = ("warning", "critical", "failed")


def _by_key(entries):
    return dict(((entry["host"], entry["check"], entry["target"]), entry) for entry in entries)


def _report_time(name, run):
    """The time stamp of a report file of the run (run-YYYYmmddTHHMMSSZ[-job].json), or None for another file."""
    match = re.match(r"%s-(\d{8}T\d{6}Z)(?:-[\w.-]+)?\.json\Z" % re.escape(run), name)
    return match.group(1) if match else None


def _previous_entries(report, report_dir, limit=60):
    """Each host's entries in the newest earlier report of the run that reached it - the previous run, or, when the
    runs are split into slices (AWX job slices, serial batches), the previous run's slice that had the host - and
    the start of the newest of those reports; None when there is none."""
    stamp = report["started"].replace(":", "").replace("-", "")
    try:
        names = sorted(((_report_time(name, report["run"]), name) for name in os.listdir(report_dir)
                        if (_report_time(name, report["run"]) or stamp) < stamp), reverse=True)
    except OSError:
        return [], None
    wanted = set(report["hosts"])
    entries, started = [], None
    for _moment, name in names[:limit]:
        try:
            with open(os.path.join(report_dir, name)) as stream:
                previous = json.load(stream)
        except (OSError, ValueError):
            continue
        if not isinstance(previous, dict):
            continue
        reached = set(previous.get("hosts", [])) - set(previous.get("hosts_not_reached", []))
        taken = wanted & reached
        if not taken:
            continue
        started = started or previous.get("started")
        entries.extend(entry for entry in previous.get("entries", []) if entry.get("host") in taken)
        wanted -= taken
        if not wanted:
            break
    return entries, started


def upkeep_report_changes(report, report_dir):
    """The report with what changed since the previous report of the same run in the folder: findings that appeared
    or got worse, findings that were resolved (checked again and found well), and the sizes that grew or shrank."""
    previous_entries, previous_started = _previous_entries(report, report_dir)
    if not previous_started:
        return dict(report, changes=None)
    before, now = _by_key(previous_entries), _by_key(report["entries"])
    new, resolved, sizes = [], [], []
    for key, entry in now.items():
        earlier = before.get(key)
        was = earlier["status"] if earlier else "ok"
        if entry["status"] in PROBLEMS and STATUSES.index(entry["status"]) > STATUSES.index(was):
            new.append(dict(entry, previous_status=was if earlier else None))
        elif entry["status"] not in PROBLEMS and was in PROBLEMS:
            resolved.append(dict(entry, previous_status=was))
        size, size_before = entry.get("metrics", {}).get("size_bytes"), (earlier or {}).get("metrics", {}).get("size_bytes")
        if isinstance(size, (int, float)) and isinstance(size_before, (int, float)) and size != size_before:
            sizes.append(dict(host=key[0], check=key[1], target=key[2], before_bytes=size_before, after_bytes=size,
                              growth_bytes=size - size_before))
    # Most checks report a finding only while it lasts: one a host no longer reports is resolved, if the host ran.
    reached = set(entry["host"] for entry in report["entries"])
    for key, earlier in before.items():
        if key not in now and key[0] in reached and earlier["status"] in PROBLEMS:
            resolved.append(dict(earlier, status="ok", summary="no longer found: " + earlier["summary"],
                                 previous_status=earlier["status"], timestamp=report["finished"]))
    return dict(report, changes=dict(previous_started=previous_started, new=new, resolved=resolved, sizes=sizes))


def _report(run, hosts, entries, finished, reached=()):
    counts = dict((status, 0) for status in STATUSES)
    for entry in entries:
        counts[entry["status"]] = counts.get(entry["status"], 0) + 1
    started = min([entry["timestamp"] for entry in entries] + [finished])
    reached = set(entry["host"] for entry in entries) | set(reached)
    return dict(
        run=run,
        started=started,
        finished=finished,
        duration_seconds=stamp_seconds(finished) - stamp_seconds(started),
        hosts=hosts,
        # Hosts a rollout stopped before, or that were unreachable: none of their roles ran.
        hosts_not_reached=[host for host in hosts if host not in reached],
        status=worst_status(entry["status"] for entry in entries),
        counts=counts,
        bytes_reclaimed=sum(int(entry.get("metrics", {}).get("bytes_reclaimed", 0) or 0) for entry in entries),
        downtime=_downtime(entries),
        entries=entries,
    )


def upkeep_report_merge(reports):
    """One report from the reports of the slices of one run (the jobs of a sliced AWX job template, each with part of
    the hosts): their hosts and entries, with the counts, the status, the reached hosts and the downtime computed
    again over all of them, and their changes and next windows joined."""
    reports = [report for report in reports or [] if report]
    if not reports:
        raise AnsibleFilterError("upkeep_report_merge: no report to merge")
    runs = sorted(set(report.get("run") for report in reports))
    if len(runs) > 1:
        raise AnsibleFilterError("upkeep_report_merge: the reports are of different runs: %s" % ", ".join(map(str, runs)))
    hosts, entries, reached, next_windows, changes = [], [], set(), {}, None
    for report in sorted(reports, key=lambda report: report["started"]):
        hosts.extend(host for host in report["hosts"] if host not in hosts)
        entries.extend(report["entries"])
        reached |= set(report["hosts"]) - set(report.get("hosts_not_reached", []))
        next_windows.update(report.get("next_windows") or {})
        if report.get("changes"):
            changes = changes or dict(previous_started=report["changes"]["previous_started"], new=[], resolved=[], sizes=[])
            for key in ("new", "resolved", "sizes"):
                changes[key].extend(report["changes"][key])
    merged = _report(runs[0], hosts, entries, max(report["finished"] for report in reports), reached)
    merged.update(next_windows=next_windows, changes=changes, slices=len(reports))
    return merged


def upkeep_summary(report):
    counts = ", ".join("%d %s" % (count, status) for status, count in report["counts"].items() if count)
    lines = ["%s: %s on %s (%s); %s reclaimed" % (
        report["run"], plural(len(report["entries"]), "check"), plural(len(report["hosts"]), "host"), counts or "nothing reported",
        human_bytes(report["bytes_reclaimed"]))]
    lines.extend("%s %-8s %s %s: %s" % (entry["host"], entry["status"].upper(), entry["check"], entry["target"], entry["summary"])
                 for entry in report["entries"] if entry["status"] != "ok")
    return lines


SEVERITIES = ("critical", "failed", "warning")


def upkeep_markdown(report):
    """The run's report for people: status, duration, what was done, findings by severity, recommendations."""
    lines = [
        "# %s maintenance report" % report["run"].capitalize(), "",
        "| | |", "|---|---|",
        "| Status | **%s** |" % report["status"],
        "| Window | %s to %s (%d s) |" % (report["started"], report["finished"], report.get("duration_seconds", 0)),
        "| Hosts | %s |" % ", ".join(report["hosts"]),
    ]
    if report.get("hosts_not_reached"):
        lines.append("| Not reached | %s |" % ", ".join(report["hosts_not_reached"]))
    in_window = _in_window(report["entries"])
    if in_window:
        lines.append("| In a window | %s |" % ", ".join("%s: %s" % (entry["host"], entry["summary"]) for entry in in_window))
    if report.get("next_windows"):
        lines.append("| Next window | %s |" % ", ".join("%s %s" % (host, start) for host, start in sorted(report["next_windows"].items())))
    lines += [
        "| Checks | %s |" % ", ".join("%d %s" % (count, status) for status, count in report["counts"].items() if count),
        "| Reclaimed | %s |" % human_bytes(report["bytes_reclaimed"]), "",
    ]
    for title, statuses in (("Findings: critical", ("critical",)), ("Findings: failed checks", ("failed",)),
                            ("Findings: warnings", ("warning",)), ("Actions", ("changed",))):
        chosen = [entry for entry in report["entries"] if entry["status"] in statuses]
        if chosen:
            lines += ["## %s" % title, ""]
            lines += ["- **%s** `%s` %s: %s" % (entry["host"], entry["check"], entry["target"], entry["summary"])
                      for entry in chosen]
            lines.append("")
    changes = report.get("changes")
    if changes:
        lines += ["## Since the previous run (%s)" % changes["previous_started"], ""]
        lines += ["- new: **%s** `%s` %s: %s (%s)" % (entry["host"], entry["check"], entry["target"], entry["summary"],
                                                      entry["status"]) for entry in changes["new"]]
        lines += ["- resolved: **%s** `%s` %s (was %s)" % (entry["host"], entry["check"], entry["target"],
                                                           entry["previous_status"]) for entry in changes["resolved"]]
        lines += ["- size: **%s** `%s` %s: %s to %s (%s%s)" % (
            size["host"], size["check"], size["target"], human_bytes(size["before_bytes"]), human_bytes(size["after_bytes"]),
            "+" if size["growth_bytes"] > 0 else "-", human_bytes(abs(size["growth_bytes"]))) for size in changes["sizes"]]
        if not (changes["new"] or changes["resolved"] or changes["sizes"]):
            lines.append("- nothing new, nothing resolved, no size changed")
        lines.append("")
    downtime = _downtime(report["entries"])
    if downtime:
        lines += ["## Downtime", "", "| host | down | from | to | seconds |", "|---|---|---|---|---:|"]
        lines += ["| %s | %s | %s | %s | %s |" % (down["host"], ", ".join(down["services"]) or "nothing stopped", down["from"],
                                                  down["to"], down["seconds"]) for down in downtime] + [""]
    changes_within = _before_after(report["entries"])
    if changes_within:
        lines += ["## Before and after", "", "| host | check | target | figure | before | after |", "|---|---|---|---|---:|---:|"]
        lines += ["| %s | %s | %s | %s | %s | %s |" % row for row in changes_within] + [""]
    durations = _durations(report["entries"])
    if durations:
        lines += ["## Time per check", "", "| check | seconds |", "|---|---:|"]
        lines += ["| %s | %s |" % (check, seconds) for check, seconds in durations] + [""]
    checks = []
    for entry in report["entries"]:
        if entry["status"] in SEVERITIES and _recommendation(entry["check"]) and entry["check"] not in checks:
            checks.append(entry["check"])
    if checks:
        lines += ["## Recommendations", ""] + ["- %s" % _recommendation(check) for check in checks] + [""]
    return "\n".join(lines)


def _recommendation(check):
    registered = CHECKS.get(check)
    return registered.recommendation if registered else None


def _label(value):
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def _downtime(entries):
    """Per closed window: the host, what was down, from and to when."""
    rows = []
    for entry in entries:
        details = entry.get("details", {})
        if entry["check"] == "maintenance_window" and details.get("opened") and details.get("closed"):
            rows.append({"host": entry["host"], "services": details.get("down", []), "from": details["opened"],
                         "to": details["closed"], "seconds": stamp_seconds(details["closed"]) - stamp_seconds(details["opened"])})
    return rows


def _before_after(entries):
    """(host, check, target, figure, before, after) of the metrics an entry has before and after its work."""
    rows = []
    for entry in entries:
        metrics = entry.get("metrics", {})
        for name in sorted(metrics):
            if "before" in name and name.replace("before", "after") in metrics:
                rows.append((entry["host"], entry["check"], entry["target"], name.replace("_before", ""),
                             metrics[name], metrics[name.replace("before", "after")]))
    return rows


def _durations(entries):
    """(check, seconds) of the checks whose entries measured their duration, the longest first."""
    totals = {}
    for entry in entries:
        seconds = entry.get("metrics", {}).get("duration_seconds")
        if isinstance(seconds, (int, float)) and not isinstance(seconds, bool):
            totals[entry["check"]] = round(totals.get(entry["check"], 0) + seconds, 3)
    return sorted(totals.items(), key=lambda item: (-item[1], item[0]))


def _in_window(entries):
    """The entries that say a host's window was open within its deadline when the run looked: what it stopped was
    expected down."""
    return [entry for entry in entries if entry["check"] == "window_open" and entry["status"] == "ok"]


def upkeep_prometheus(report, host):
    """node_exporter textfile metrics of one host's part of the run."""
    run = _label(report["run"])
    entries = [entry for entry in report["entries"] if entry["host"] == host]
    lines = [
        "# HELP upkeep_window_open 1 when a maintenance window was open within its deadline as the run looked: its "
        "alerts wait.",
        "# TYPE upkeep_window_open gauge",
        'upkeep_window_open{run="%s"} %d' % (run, 1 if _in_window(entries) else 0),
        "# HELP upkeep_maintenance_last_run_timestamp_seconds When the maintenance run finished.",
        "# TYPE upkeep_maintenance_last_run_timestamp_seconds gauge",
        'upkeep_maintenance_last_run_timestamp_seconds{run="%s"} %d' % (run, stamp_seconds(report["finished"])),
        "# HELP upkeep_maintenance_duration_seconds How long the maintenance run took.",
        "# TYPE upkeep_maintenance_duration_seconds gauge",
        'upkeep_maintenance_duration_seconds{run="%s"} %d' % (run, report.get("duration_seconds", 0)),
        "# HELP upkeep_maintenance_status Worst status of each check: 0 ok, 1 changed, 2 warning, 3 critical, 4 failed.",
        "# TYPE upkeep_maintenance_status gauge",
    ]
    by_check = {}
    for entry in entries:
        by_check.setdefault(entry["check"], []).append(entry["status"])
    for check in sorted(by_check):
        lines.append('upkeep_maintenance_status{run="%s",check="%s"} %d' % (
            run, _label(check), STATUSES.index(worst_status(by_check[check]))))
    durations = _durations(entries)
    if durations:
        lines += ["# HELP upkeep_task_duration_seconds Time the run spent on each check, as its modules measured it.",
                  "# TYPE upkeep_task_duration_seconds gauge"]
        lines += ['upkeep_task_duration_seconds{run="%s",check="%s"} %s' % (run, _label(check), seconds)
                  for check, seconds in durations]
    lines += ["# HELP upkeep_findings Findings of the run by check and severity.", "# TYPE upkeep_findings gauge"]
    for check in sorted(by_check):
        for severity in SEVERITIES:
            lines.append('upkeep_findings{run="%s",check="%s",severity="%s"} %d' % (
                run, _label(check), severity, by_check[check].count(severity)))
    return "\n".join(lines) + "\n"


def upkeep_notification(report, severities, hosts=None, on_change=False, checks=()):
    """Slack-compatible webhook payload for the findings of the hosts (all by default), or None when none has one of
    the severities, or is a problem of one of the checks always notified (a window's overrun, a warning). On change,
    only the findings new since the previous run and those it resolved are sent, so that a check run every few minutes
    alerts once when a state changes, not on every run."""
    if on_change:
        changes = report.get("changes") or dict(new=[entry for entry in report["entries"] if entry["status"] in PROBLEMS],
                                                resolved=[])
        candidates = changes["new"] + [dict(entry, status="resolved") for entry in changes["resolved"]]
        severities = list(severities) + ["resolved"]
    else:
        candidates = report["entries"]
    chosen = [entry for entry in candidates
              if (entry["status"] in severities or (entry["check"] in checks and entry["status"] in PROBLEMS))
              and (hosts is None or entry["host"] in hosts)]
    if not chosen:
        return None
    text = "%s maintenance: %s on %s\n%s" % (report["run"], report["status"].upper(), plural(len(report["hosts"]), "host"), "\n".join(
        "%s %s %s: %s" % (entry["status"].upper(), entry["host"], entry["target"], entry["summary"]) for entry in chosen[:20]))
    if len(chosen) > 20:
        text += "\n... and %d more" % (len(chosen) - 20)
    return dict(text=text)


def _restore_point(entry):
    """(kind, backup) of a backup entry that holds the state when it was taken, else None: a SQLite backup, or the
    archive of a folder (its target a path) or a volume (a name) written or found identical; a reused backup, taken
    before, holds an older state and is never one, nor is a PostgreSQL dump."""
    details = entry.get("details") or {}
    if entry["check"] == "sqlite_backup" and details.get("backup") and not details.get("reused"):
        return "sqlite", details["backup"]
    if entry["check"] == "backup_create" and details.get("outcome") in ("created", "identical") \
            and str(details.get("path", "")).endswith((".tar", ".tar.gz", ".tar.zst")):
        return "folder" if entry["target"].startswith("/") else "volume", details["path"]
    return None


def upkeep_restore_points(entries, since):
    """The first backup of each database, folder and volume taken since a moment: the state to roll back to."""
    points, seen = [], set()
    for entry in sorted(entries, key=lambda entry: entry["timestamp"]):
        point = _restore_point(entry) if entry["timestamp"] >= since else None
        if point and entry["target"] not in seen:
            seen.add(entry["target"])
            points.append(dict(kind=point[0], path=entry["target"], backup=point[1]))
    return points
