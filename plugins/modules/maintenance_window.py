#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: maintenance_window
short_description: Open a host's maintenance window after a preflight, and close it once its endpoints answer again
version_added: 0.1.0
description:
  - With O(state=open), first checks that the host can take the window (preflight) and fails without changing
    anything when it cannot. The five-minute load per core must not be above O(max_load), the file system of
    each O(space) destination must have room for O(space_factor) times the size of its sources plus O(min_free), and
    every one of the O(services) must exist (as far as the service manager tells; SysV init scripts do, systemd
    reports unknown units as inactive).
  - Then records the window in O(state_file), raises the O(flag_file) (a web server answers with its maintenance page
    while the file exists) and stops the O(services) that are running, in the order given. Services that were already
    stopped are left stopped and are not started when the window closes.
  - With O(state=closed), starts the services the window stopped (in reverse order), waits until every one of the
    O(endpoints) gives its expected answer, and only then removes the flag and the record. When the endpoints do not
    answer within O(wait_timeout), the task fails and the flag stays up, so that users keep seeing the maintenance page
    instead of errors.
  - The record makes the window survive the run that opened it. A window that a crashed run left open is reported
    when the next window opens, and closing the next window starts the services the crashed run stopped.
  - One window per host at a time. Run by ansible-playbook, the window belongs to the run that opened it (its
    O(holder), which the action plugin sets). A run that finds the window of another run that is still alive waits up
    to O(holder_wait) for it to close, then leaves the host alone - no service stopped, nothing done, a V(warning)
    entry saying which window holds it - instead of taking that window over. The window of a run that is gone (a
    process of this controller that no longer runs, or past its deadline, or past O(holder_lease) without one, for a
    run of another controller, whose process cannot be asked) is resumed.
author:
  - upkeep.maintenance contributors (@upkeep)
extends_documentation_fragment:
  - upkeep.maintenance.attributes
  - upkeep.maintenance.attributes.PLATFORM
attributes:
  check_mode:
    support: full
    details:
      - Check mode runs the preflight and reports which services would be stopped or started.
  diff_mode:
    support: none
options:
  state:
    description:
      - V(open) runs the preflight and opens the window; V(closed) closes it.
    type: str
    choices: [open, closed]
    required: true
  name:
    description:
      - Name of the run that opens the window (V(weekly), say), kept in the record and the flag file.
    type: str
    default: maintenance
  state_file:
    description:
      - Where the open window is recorded, with the services to start again.
    type: path
    default: /var/lib/upkeep/maintenance-window.json
  holder:
    description:
      - The run opening the window, kept in the record. The action plugin sets it to this ansible-playbook run
        (controller, process and its start) when it is not given; without one, any window found is resumed.
    type: str
  take_over:
    description:
      - The holder whose window this opening resumes, its run being gone. The action plugin sets it.
    type: str
  holder_wait:
    description:
      - How long to wait for the window of another live run to close before leaving the host alone (V(30m), V(0)).
    type: str
    default: 30m
  holder_lease:
    description:
      - How long after it opened a window without a deadline, held by a run of another controller (whose process
        cannot be asked), counts as held by a live run.
    type: str
    default: 12h
  flag_file:
    description:
      - File whose presence switches the site to its maintenance page (C(if (-f /var/www/maintenance.flag)) in nginx).
        None when omitted.
    type: path
  flag_content:
    description:
      - Text written into the flag file; the maintenance page may show it.
    type: str
    default: "Scheduled maintenance in progress.\n"
  services:
    description:
      - Services to stop while the window is open, in the order to stop them.
    type: list
    elements: str
    default: []
  compose_projects:
    description:
      - Docker Compose projects whose services are stopped while the window is open (those that run; all of the
        project's, or those listed), by the host's Compose - C(docker compose) (v2) or C(docker-compose) (v1) - which
        keeps their dependency order. They are recorded with the services, started again when the window closes
        (or by the rollback), before the host's services, and the window closes only once their containers run and,
        where they have a healthcheck, are healthy.
    type: list
    elements: dict
    default: []
    suboptions:
      project_dir:
        description: The project's folder, where its compose file is.
        type: path
        required: true
      project:
        description: The project's name; by default COMPOSE_PROJECT_NAME of the folder's C(.env) file, else the folder's name, as Compose derives it.
        type: str
      files:
        description: Compose files, when not the folder's default one.
        type: list
        elements: path
        default: []
      services:
        description: The services to stop; all of the project's when empty.
        type: list
        elements: str
        default: []
      wait_healthy:
        description: Wait, up to O(wait_timeout), until the started containers run and are healthy.
        type: bool
        default: true
  service_manager:
    description:
      - How services are asked. V(auto) uses systemd where it runs, else the SysV init scripts.
    type: str
    choices: [auto, systemd, sysvinit]
    default: auto
  max_load:
    description:
      - Highest five-minute load average per core (1.0 is every core busy) at which a window opens. V(0) skips the
        check.
    type: float
    default: 1.5
  space:
    description:
      - Room needed for the window's backups. Each item is a dict with C(dest), the folder the backups go to (it may
        not exist yet), and C(sources), the files or folders backed up there. Destinations on the same file system
        add up.
    type: list
    elements: dict
    default: []
  space_factor:
    description:
      - Free space needed per byte of the sources. The default of 2 leaves room for a backup and for the temporary
        copy that C(VACUUM) writes of a database.
    type: float
    default: 2.0
  min_free:
    description:
      - Space that must remain free on each destination's file system besides, as a size such as V(512M) or V(2G).
    type: str
    default: 100M
  endpoints:
    description:
      - HTTP(S) endpoints that must answer before the window closes, each a URL or a dict with C(url), C(status)
        (default 200) and C(validate_certs) (default true).
      - With O(state=open) each is asked once before anything stops; the closing entry's metrics then give the
        slowest answer before the window and after it (C(response_seconds_before), C(response_seconds_after)), which
        the report shows in its before and after table.
    type: list
    elements: raw
    default: []
  watch:
    description:
      - With O(state=closed), seconds to keep watching the host after the window closed, every O(watch_interval) -
        the endpoints must keep answering, the containers of the Compose projects started must keep running (healthy,
        without restarting), and O(watch_logs) must not get more than O(watch_log_errors) error lines. A regression
        is a V(critical) entry C(window_watch); the window stays closed. V(0) does not watch.
    type: float
    default: 0
  watch_interval:
    description: Seconds between two looks while watching.
    type: float
    default: 15
  watch_logs:
    description: Logs (globs allowed) whose error lines written after the window closed count while watching.
    type: list
    elements: path
    default: []
  watch_log_patterns:
    description: Regular expressions of an error line in O(watch_logs).
    type: list
    elements: str
    default: ['\bERROR\b', '\bCRITICAL\b', '\bFATAL\b']
  watch_log_errors:
    description: More error lines than this in O(watch_logs) while watching is a regression.
    type: int
    default: 10
  reason:
    description:
      - With O(state=open), why the window is opened (a window opened by hand says so); kept with the window and
        repeated when it closes.
    type: str
  max_duration:
    description:
      - With O(state=open), how long the window may last (V(4h), V(90m)); its deadline is recorded with it and
        returned as RV(deadline), for the steps inside the window to stop starting work past it (the window role and
        the weekly and monthly playbooks do). A resumed window keeps the deadline it was opened with.
    type: str
  wait_timeout:
    description:
      - Seconds to wait, after the services are started, for the endpoints to answer as expected.
    type: float
    default: 120
  timeout:
    description:
      - Seconds after which one request to an endpoint counts as unanswered.
    type: float
    default: 10
notes:
  - Opening and closing a window leaves the host as it found it; the roles report them in the results contract and
    mark the tasks unchanged so that maintenance runs stay idempotent.
seealso:
  - module: upkeep.maintenance.host_health
"""

EXAMPLES = r"""
- name: Open the weekly window - the site shows its maintenance page, the backend is stopped
  upkeep.maintenance.maintenance_window:
    state: open
    name: weekly
    flag_file: /var/www/maintenance.flag
    services: [app-frontend, app-backend]
    space:
      - dest: /var/backups/upkeep/sqlite
        sources: [/srv/app/data/app.db]

- name: Close it once the application answers again
  upkeep.maintenance.maintenance_window:
    state: closed
    endpoints:
      - http://127.0.0.1:8080/health
    wait_timeout: 60
"""

RETURN = r"""
opened:
  description: When the window was opened (UTC).
  returned: always
  type: str
  sample: "2026-11-22T03:00:04Z"
deadline:
  description: When the window must close (UTC), from O(max_duration); null without one.
  returned: O(state=open)
  type: str
  sample: "2026-11-22T07:00:04Z"
services_stopped:
  description: Services the window stopped (or, in check mode, would stop).
  returned: O(state=open)
  type: list
  elements: str
services_started:
  description: Services started again (or, in check mode, that would be).
  returned: O(state=closed)
  type: list
  elements: str
preflight:
  description: C(load) (the figures and C(max_load)) and C(space) (per file system the C(mount), C(needed) and
    C(available) bytes, and the C(sources)).
  returned: O(state=open)
  type: dict
held:
  description:
    - The window of another run that holds the host, when this one was not opened - C(holder), C(name), C(opened),
      C(deadline) and C(expired) (past its deadline, or without one past O(holder_lease)); C(waited_seconds) is how
      long the action plugin waited for it.
  returned: O(state=open) and another run's window holds the host
  type: dict
resumed:
  description: The record of an earlier window that was never closed, when there was one.
  returned: O(state=open) and an earlier window was left open
  type: dict
endpoints:
  description: The last answer of each endpoint (C(url), C(status_code), C(seconds), C(status), C(message)).
  returned: O(state=closed)
  type: list
  elements: dict
window_seconds:
  description: How long the window was open.
  returned: O(state=closed) and a window was open
  type: int
watch:
  description: What watching after the window found, C(seconds), C(looks), C(log_errors) and C(regressions) (one line
    each).
  returned: O(state=closed) with O(watch)
  type: dict
upkeep_results:
  description: Entries of the results contract, check V(maintenance_window) (and V(window_preflight) when the
    preflight fails, V(window_watch) when the host was watched after closing).
  returned: always
  type: list
  elements: dict
"""

import json
import os
import re
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.upkeep.maintenance.plugins.module_utils._compose import (
    COMPOSE_PROJECT_SPEC,
    ComposeError,
    compose,
    containers,
    project_name,
    running_services,
    wait_healthy,
)
from ansible_collections.upkeep.maintenance.plugins.module_utils._files import remove_if_present, write_atomically
from ansible_collections.upkeep.maintenance.plugins.module_utils._health import (
    SERVICE_MANAGER_CHOICES,
    control_service,
    endpoint_specs,
    request_endpoint,
    service_manager,
    service_states,
)
from ansible_collections.upkeep.maintenance.plugins.module_utils._results import result_entry
from ansible_collections.upkeep.maintenance.plugins.module_utils._units import parse_duration, parse_size, stamp_seconds, utc_stamp
from ansible_collections.upkeep.maintenance.plugins.module_utils._windows import (
    STATE_FILE,
    count_errors_since,
    past_deadline,
    preflight,
    read_record,
)


def now():
    return utc_stamp(time.time())


def fail(module, message, check="maintenance_window", **result):
    """Fails the task with the failure as a critical entry of the results contract."""
    module.fail_json(msg=message, upkeep_results=[result_entry(check, module.params["name"], "critical", message)], **result)


class Window(object):
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.manager = service_manager(self.params["service_manager"])

    def states(self, names):
        return dict(zip(names, service_states(self.module, names, self.manager)))

    def running(self, names):
        states = self.states(names)
        return [name for name in names if states[name] == "active"]

    def control(self, names, action):
        for name in names:
            problem = control_service(self.module, name, action, self.manager)
            if problem:
                return "cannot %s %s: %s" % (action, name, problem)
        return None

    def compose_running(self, problems):
        """For each Compose project, its services that run now: those the window stops."""
        running = []
        for spec in self.params["compose_projects"]:
            try:
                running.append((spec, running_services(self.module, spec)))
            except ComposeError as error:
                problems.append("compose project %s: %s" % (project_name(spec), error))
        return running

    def held_elsewhere(self, previous):
        """The result of an opening that finds the window of another run, which it may not take over."""
        params = self.params
        holder = previous.get("holder")
        if not (params["holder"] and holder) or holder in (params["holder"], params["take_over"]):
            return None
        opened = stamp_seconds(previous["opened"])
        expired = past_deadline(previous) if previous.get("deadline") else (
            time.time() >= opened + parse_duration(params["holder_lease"]))
        held = dict(holder=holder, name=previous.get("name"), opened=previous["opened"], deadline=previous.get("deadline"),
                    expired=expired)
        summary = ("%s window not opened: the %s window opened at %s by another run (%s) holds the host; nothing of the "
                   "%s was done here" % (params["name"], held["name"], held["opened"], holder, params["name"]))
        return dict(changed=False, held=held, msg=summary, upkeep_results=[result_entry(
            "maintenance_window", params["name"], "warning", summary, details=dict(held=held))])

    def open(self):
        params = self.params
        previous = read_record(params["state_file"])
        held = self.held_elsewhere(previous) if previous else None
        if held:
            return held
        figures, problems = preflight(params)
        states = self.states(params["services"])
        # A misspelt service would leave the application running through the window.
        problems.extend("service %s does not exist" % name for name in params["services"] if states[name] == "not-found")
        compose_running = self.compose_running(problems)
        if problems:
            fail(self.module, "preflight failed, the window was not opened and nothing was changed: %s" % "; ".join(problems),
                 check="window_preflight", preflight=figures)
        to_stop = [name for name in params["services"] if states[name] == "active"]
        already_stopped = [name for name in params["services"] if name not in to_stop]
        # Services a crashed window stopped are started when this one closes: they were running before it.
        stopped_before = [name for name in (previous or {}).get("services", []) if name not in to_stop]
        compose_stopped = [dict(spec, services=services) for spec, services in compose_running if services]
        compose_before = [entry for entry in (previous or {}).get("compose", [])
                          if project_name(entry) not in [project_name(spec) for spec in compose_stopped]]
        opened = (previous or {}).get("opened") or now()
        deadline = (previous or {}).get("deadline")
        if params["max_duration"] and not deadline:
            deadline = utc_stamp(stamp_seconds(opened) + parse_duration(params["max_duration"]))
        # How fast the endpoints answer before anything stops: the close compares its answers with it.
        answers = [request_endpoint(spec, params["timeout"]) for spec in endpoint_specs(params["endpoints"])]
        answered = [answer["seconds"] for answer in answers if answer["status"] != "critical"]
        record = dict(name=params["name"], holder=params["holder"], opened=opened, deadline=deadline,
                      reason=params["reason"] or (previous or {}).get("reason"), services=stopped_before + to_stop,
                      compose=compose_before + compose_stopped, flag_file=params["flag_file"],
                      response_seconds=(previous or {}).get("response_seconds", max(answered) if answered else None))
        result = dict(changed=True, opened=record["opened"], deadline=deadline, services_stopped=to_stop, preflight=figures,
                      compose_stopped=dict((project_name(spec), spec["services"]) for spec in compose_stopped))
        if previous:
            result["resumed"] = previous
        if not self.module.check_mode:
            for path in (params["state_file"], params["flag_file"]):
                if path:
                    os.makedirs(os.path.dirname(path), 0o755, exist_ok=True)
            # Recorded before anything is stopped, so that a run dying half-way still knows what to start again.
            write_atomically(params["state_file"], json.dumps(record, indent=2) + "\n", 0o600)
            if params["flag_file"]:
                write_atomically(params["flag_file"], params["flag_content"], 0o644)
            problem = self.control(to_stop, "stop") or self.compose_control(compose_stopped, "stop")
            if problem:
                fail(self.module, "%s; the window is open, close it to start what was stopped" % problem, **result)
        parts = ["flag %s up" % params["flag_file"]] if params["flag_file"] else []
        stopped_names = to_stop + ["%s/%s" % (project_name(spec), service) for spec in compose_stopped for service in spec["services"]]
        parts.append("stopped %s" % ", ".join(stopped_names) if stopped_names else "no service to stop")
        if already_stopped:
            parts.append("%s already stopped and left so" % ", ".join(already_stopped))
        if previous:
            parts.append("resumes the window opened at %s that was never closed" % previous.get("opened"))
        if deadline:
            parts.append("closes by %s" % deadline)
        if record["reason"]:
            parts.append("reason: %s" % record["reason"])
        summary = "%s window opened: %s" % (params["name"], "; ".join(parts))
        acted = "changed" if stopped_names or params["flag_file"] else "ok"
        result.update(msg=summary, upkeep_results=[result_entry(
            "maintenance_window", params["name"], "warning" if previous else acted, summary,
            metrics=dict(load_per_core=figures["load"]["per_core"]),
            details=dict(services_stopped=to_stop, endpoints_before=answers))])
        return result

    def compose_control(self, entries, action):
        """compose stop (or start) of each project's services; what went wrong, or None."""
        for spec in entries:
            try:
                compose(self.module, spec, action, *spec["services"])
            except ComposeError as error:
                return "cannot %s compose project %s: %s" % (action, project_name(spec), error)
        return None

    def compose_unhealthy(self, entries):
        """The containers the started projects want healthy and that are not, once wait_timeout is over."""
        problems = []
        for spec in entries:
            if spec.get("wait_healthy", True):
                try:
                    pending = wait_healthy(self.module, spec, spec["services"], self.params["wait_timeout"])
                except ComposeError as error:
                    problems.append("compose project %s: %s" % (project_name(spec), error))
                    continue
                problems.extend("%s is %s" % (container["name"], container["health"] or container["state"])
                                for container in pending)
        return problems

    def wait_for_endpoints(self, endpoints):
        deadline = time.monotonic() + self.params["wait_timeout"]
        while True:
            answers = [request_endpoint(endpoint, self.params["timeout"]) for endpoint in endpoints]
            failing = [answer for answer in answers if answer["status"] == "critical"]
            if not failing or time.monotonic() >= deadline:
                return answers, failing
            time.sleep(1)

    def close(self):
        params = self.params
        endpoints = endpoint_specs(params["endpoints"])
        record = read_record(params["state_file"]) or {}
        flag_file = record.get("flag_file") or params["flag_file"]
        flag_up = bool(flag_file) and os.path.exists(flag_file)
        stopped = list(reversed(record.get("services", [])))
        to_start = [name for name in stopped if name not in self.running(stopped)]
        compose_start = list(reversed(record.get("compose", [])))
        compose_names = ["%s/%s" % (project_name(spec), service) for spec in compose_start for service in spec["services"]]
        result = dict(changed=bool(record or flag_up or to_start), opened=record.get("opened"), services_started=to_start,
                      compose_started=dict((project_name(spec), spec["services"]) for spec in compose_start), endpoints=[])
        if self.module.check_mode:
            result.update(msg="would start %s and wait for %d endpoints" % (
                ", ".join(compose_names + to_start) or "nothing", len(endpoints)), upkeep_results=[])
            return result
        # The containers first: the services on the host usually depend on them (a database, a queue).
        problem = self.compose_control(compose_start, "start") or self.control(to_start, "start")
        if problem:
            fail(self.module, "%s; the maintenance flag stays up" % problem, **result)
        unhealthy = self.compose_unhealthy(compose_start)
        if unhealthy:
            fail(self.module, "containers did not become healthy within %d s (%s); the maintenance flag stays up" % (
                params["wait_timeout"], "; ".join(unhealthy)), **result)
        answers, failing = self.wait_for_endpoints(endpoints)
        result["endpoints"] = answers
        if failing:
            fail(self.module, "the endpoints did not answer as expected within %d s after the services started (%s); "
                              "the maintenance flag stays up" % (params["wait_timeout"], "; ".join(
                                  "%s %s" % (answer["url"], answer["message"]) for answer in failing)), **result)
        if flag_up:
            remove_if_present(flag_file)
        remove_if_present(params["state_file"])
        parts = ["started %s" % ", ".join(compose_names + to_start) if compose_names or to_start else "no service to start"]
        if endpoints:
            parts.append("%d/%d endpoints answer" % (len(answers), len(endpoints)))
        if flag_up:
            parts.append("flag %s removed" % flag_file)
        metrics = {}
        if record.get("response_seconds") is not None and answers:
            # The slowest endpoint's answer before the window and after it, for the report's before and after.
            metrics.update(response_seconds_before=record["response_seconds"],
                           response_seconds_after=max(answer["seconds"] for answer in answers))
        if record.get("opened"):
            result["window_seconds"] = int(time.time() - stamp_seconds(record["opened"]))
            metrics["duration_seconds"] = result["window_seconds"]
            parts.append("open for %d s" % result["window_seconds"])
        if record.get("reason"):
            parts.append("reason: %s" % record["reason"])
        summary = "%s window closed: %s" % (record.get("name", params["name"]), "; ".join(parts))
        # What was down and from when to when, for the report's downtime.
        down = record.get("services", []) + ["%s/%s" % (project_name(spec), service) for spec in record.get("compose", [])
                                             for service in spec["services"]]
        entries = [result_entry(
            "maintenance_window", record.get("name", params["name"]), "changed" if result["changed"] else "ok", summary,
            metrics=metrics,
            details=dict(services_started=to_start, compose_started=result["compose_started"], endpoints=answers,
                         opened=record.get("opened"), closed=now(), down=down, reason=record.get("reason")))]
        if params["watch"] > 0:
            result["watch"] = self.watch(endpoints, compose_start)
            entries.append(self.watch_entry(record.get("name", params["name"]), result["watch"]))
        result.update(msg=summary, upkeep_results=entries)
        return result

    def watch(self, endpoints, projects):
        """What regressed after the window closed: endpoints failing twice in a row (or at the last look), containers
        down, unhealthy or restarting, error lines in the logs."""
        params = self.params
        closed_at = time.time()
        deadline = time.monotonic() + params["watch"]
        failing, regressions, looks = {}, [], 0
        baseline = self.container_states(projects)
        while True:
            looks += 1
            for answer in [request_endpoint(endpoint, params["timeout"]) for endpoint in endpoints]:
                failing[answer["url"]] = failing.get(answer["url"], 0) + 1 if answer["status"] == "critical" else 0
                if failing[answer["url"]] == 2:
                    regressions.append("%s %s" % (answer["url"], answer["message"]))
            for name, (state, health, restarts) in self.container_states(projects).items():
                before = baseline.get(name, (None, None, restarts))[2]
                if state != "running":
                    problem = "is %s" % state
                elif health == "unhealthy":
                    problem = "is unhealthy"
                elif restarts > before:
                    problem = "restarted %d times" % (restarts - before)
                else:
                    continue
                if not any(line.startswith(name + " ") for line in regressions):
                    regressions.append("%s %s" % (name, problem))
            if time.monotonic() + params["watch_interval"] > deadline:
                break
            time.sleep(params["watch_interval"])
        # An endpoint still failing at the last look had no second look to confirm it: the watch ends on it.
        regressions.extend("%s failing at the end of the watch" % url for url, times in failing.items()
                           if times == 1)
        errors = count_errors_since(params["watch_logs"], params["watch_log_patterns"], closed_at)
        if errors > params["watch_log_errors"]:
            regressions.append("%d error lines in the logs since the window closed (more than %d)" % (
                errors, params["watch_log_errors"]))
        return dict(seconds=round(time.time() - closed_at, 1), looks=looks, log_errors=errors, regressions=regressions)

    def container_states(self, projects):
        found = {}
        for spec in projects:
            try:
                for container in containers(self.module, project_name(spec)):
                    if container["service"] in spec["services"]:
                        found[container["name"]] = (container["state"], container["health"], container["restarts"])
            except ComposeError as error:
                found["compose project %s" % project_name(spec)] = ("unreadable: %s" % error, None, 0)
        return found

    @staticmethod
    def watch_entry(name, watched):
        if watched["regressions"]:
            return result_entry("window_watch", name, "critical", "regression within %d s after the window closed: %s" % (
                watched["seconds"], "; ".join(watched["regressions"])), metrics=dict(log_errors=watched["log_errors"]),
                details=watched)
        return result_entry("window_watch", name, "ok", "watched %d s after the window closed: endpoints, containers "
                            "and logs held (%d error lines)" % (watched["seconds"], watched["log_errors"]),
                            metrics=dict(log_errors=watched["log_errors"]), details=watched)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", required=True, choices=["open", "closed"]),
            name=dict(type="str", default="maintenance"),
            state_file=dict(type="path", default=STATE_FILE),
            flag_file=dict(type="path"),
            flag_content=dict(type="str", default="Scheduled maintenance in progress.\n"),
            services=dict(type="list", elements="str", default=[]),
            compose_projects=dict(type="list", elements="dict", default=[], options=COMPOSE_PROJECT_SPEC),
            service_manager=dict(type="str", default="auto", choices=SERVICE_MANAGER_CHOICES),
            max_load=dict(type="float", default=1.5),
            space=dict(type="list", elements="dict", default=[]),
            space_factor=dict(type="float", default=2.0),
            min_free=dict(type="str", default="100M"),
            endpoints=dict(type="list", elements="raw", default=[]),
            max_duration=dict(type="str"),
            watch=dict(type="float", default=0.0),
            watch_interval=dict(type="float", default=15.0),
            watch_logs=dict(type="list", elements="path", default=[]),
            watch_log_patterns=dict(type="list", elements="str", default=[r"\bERROR\b", r"\bCRITICAL\b", r"\bFATAL\b"]),
            watch_log_errors=dict(type="int", default=10),
            reason=dict(type="str"),
            holder=dict(type="str"),
            take_over=dict(type="str"),
            holder_wait=dict(type="str", default="30m"),
            holder_lease=dict(type="str", default="12h"),
            wait_timeout=dict(type="float", default=120.0),
            timeout=dict(type="float", default=10.0),
        ),
        supports_check_mode=True)
    try:
        endpoint_specs(module.params["endpoints"])
        parse_size(module.params["min_free"])
        if module.params["max_duration"] and parse_duration(module.params["max_duration"]) <= 0:
            raise ValueError("max_duration must be longer than nothing")
        parse_duration(module.params["holder_wait"])
        parse_duration(module.params["holder_lease"])
        if module.params["watch"] > 0 and module.params["watch_interval"] <= 0:
            raise ValueError("watch_interval must be longer than nothing")
        for pattern in module.params["watch_log_patterns"]:
            re.compile(pattern)
        if any(not item.get("dest") for item in module.params["space"]):
            raise ValueError("every space item needs a dest")
    except (ValueError, re.error) as error:
        module.fail_json(msg=str(error))

    window = Window(module)
    try:
        result = window.open() if module.params["state"] == "open" else window.close()
    except (OSError, ValueError) as error:
        fail(module, str(error))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
