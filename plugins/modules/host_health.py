#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: host_health
short_description: A host's daily health in one call - services, HTTP endpoints, disks, memory, load
version_added: 0.1.0
description:
  - Checks that the O(services) are running (systemd units, or SysV init scripts where there is no systemd) and that
    the containers of the O(compose_projects) are running.
  - Requests the O(endpoints) concurrently and checks each answer's status code and response time against its budget.
  - Reads the usage of every mounted file system (or of the O(mounts) given), the available memory and the load
    average per core, against thresholds whose defaults come from common runbooks (disk 80 %/90 %, memory 85 %/95 %,
    load 80 %/150 % of the cores over five minutes).
  - While a maintenance window of C(upkeep.maintenance.maintenance_window) is open on the host (its record in
    O(window_state_file)), what the window stopped is expected - its services and Compose services not running, and
    the endpoints, which answer with the maintenance page - and is V(ok), said so in a V(window_open) entry. A window
    past its deadline expects nothing any more - its V(window_open) entry is critical, and so is what it stopped;
    once it has closed, a service still down is critical as ever.
  - Returns what it read and a list of findings, as entries of the results contract.
author:
  - upkeep.maintenance contributors (@upkeep)
extends_documentation_fragment:
  - upkeep.maintenance.attributes
  - upkeep.maintenance.attributes.INFO_MODULE
  - upkeep.maintenance.attributes.PLATFORM
options:
  services:
    description:
      - Services that must be running.
    type: list
    elements: str
    default: []
  service_manager:
    description:
      - How services are asked. V(auto) uses systemd where it runs, else the SysV init scripts' C(status).
    type: str
    choices: [auto, systemd, sysvinit]
    default: auto
  compose_projects:
    description:
      - Docker Compose projects (by name) whose containers must all run, and be healthy where they have a
        healthcheck; found by the labels Compose gives them, so made by C(docker compose) (v2) or C(docker-compose)
        (v1) alike. A container that is not running is V(critical), with its exit code; V(unhealthy) is V(critical),
        V(starting) a V(warning).
    type: list
    elements: str
    default: []
  container_restarts_warning:
    description:
      - A container Docker restarted more than this many times since it was created is a V(warning) (a restart
        loop).
    type: int
    default: 3
  endpoints:
    description:
      - HTTP(S) endpoints, each a URL or a dict with C(url), C(status) (expected code, default 200), C(max_seconds)
        (the response-time budget, default 1; slower is a warning) and C(validate_certs) (default true).
    type: list
    elements: raw
    default: []
  timeout:
    description:
      - Seconds after which an endpoint that has not answered is critical.
    type: float
    default: 10
  mounts:
    description:
      - Mount points to check; every mounted local file system when empty.
    type: list
    elements: path
    default: []
  disk_warning:
    description: Used share of a file system (percent) that is a warning.
    type: float
    default: 80
  disk_critical:
    description: Used share of a file system (percent) that is critical.
    type: float
    default: 90
  memory_warning:
    description: Used share of memory (percent, from C(MemAvailable)) that is a warning.
    type: float
    default: 85
  memory_critical:
    description: Used share of memory (percent) that is critical.
    type: float
    default: 95
  load_warning:
    description: Five-minute load average per core (0.8 is 80 % of the cores) that is a warning.
    type: float
    default: 0.8
  load_critical:
    description: Five-minute load average per core that is critical.
    type: float
    default: 1.5
  logs:
    description:
      - Log files (globs allowed) whose error lines are counted over O(log_window) in the same call, each a path or a
        dict with C(path) and its own C(patterns), C(warning), C(critical); a C(log_errors) entry per file, as
        M(upkeep.maintenance.log_scan) gives it.
    type: list
    elements: raw
    default: []
  log_patterns:
    description: Regular expressions of the error lines of O(logs).
    type: list
    elements: str
    default: ['\bERROR\b', '\bCRITICAL\b', '\bFATAL\b']
  log_window:
    description: How far back to count the error lines of O(logs) (V(24h), V(7d)).
    type: str
    default: 24h
  log_warning:
    description: More error lines than this in all the logs together within O(log_window) is a warning (a log with limits of its own is judged alone).
    type: int
    default: 10
  log_critical:
    description: More error lines than this in all the logs together within O(log_window) is critical.
    type: int
    default: 100
  window_state_file:
    description:
      - The record of the host's open maintenance window, as C(upkeep.maintenance.maintenance_window) keeps it.
    type: path
    default: /var/lib/upkeep/maintenance-window.json
  fail_on:
    description:
      - Fail the task when a finding of this severity or worse exists, or V(never).
    type: str
    choices: [critical, warning, never]
    default: never
"""

EXAMPLES = r"""
- name: Daily health of an application host
  upkeep.maintenance.host_health:
    services: [nginx, app]
    endpoints:
      - https://app.example.com/health
      - url: http://127.0.0.1:8080/ready
        max_seconds: 0.5
  register: health
"""

RETURN = r"""
services:
  description: Each service with its C(state) and C(status).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "nginx", "state": "active", "status": "ok"}]
containers:
  description: The containers of each compose project - C(project), C(name), C(service), C(state), C(health)
    (V(healthy), V(unhealthy), V(starting), or null without a healthcheck), C(restarts), C(exit_code), C(started)
    and C(status).
  returned: always
  type: list
  elements: dict
endpoints:
  description: Each endpoint with C(status_code), C(seconds), C(status) and C(message).
  returned: always
  type: list
  elements: dict
  sample: [{"url": "http://127.0.0.1/health", "status_code": 200, "seconds": 0.012, "status": "ok", "message": "200 in 0.01 s"}]
disks:
  description: Each file system with C(mount), C(device), C(fstype), C(size), C(used), C(available), C(used_percent), C(status).
  returned: always
  type: list
  elements: dict
memory:
  description: C(total), C(available), C(used_percent) and C(status).
  returned: always
  type: dict
load:
  description: C(load1), C(load5), C(load15), C(cores), C(per_core) (five-minute load per core) and C(status).
  returned: always
  type: dict
findings:
  description: What is not ok, as results-contract entries (checks C(health_service), C(health_container),
    C(health_endpoint), C(health_disk), C(health_memory), C(health_load)).
  returned: always
  type: list
  elements: dict
logs:
  description: Each log of O(logs) with C(path), C(matches), C(first), C(last), C(status) and C(message).
  returned: always
  type: list
  elements: dict
window:
  description: The open maintenance window - C(name), C(opened), C(deadline), C(past_deadline) - or null.
  returned: always
  type: dict
upkeep_results:
  description: One V(host_health) entry with the host's figures as metrics, then a V(window_open) entry while a window
    is open, then the RV(findings), then the C(log_errors) entries of O(logs).
  returned: always
  type: list
  elements: dict
"""

import concurrent.futures
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.upkeep.maintenance.plugins.module_utils._compose import ComposeError
from ansible_collections.upkeep.maintenance.plugins.module_utils._compose import containers as project_containers
from ansible_collections.upkeep.maintenance.plugins.module_utils._health import (
    SERVICE_MANAGER_CHOICES,
    endpoint_specs,
    load_per_core,
    request_endpoint,
    service_manager,
    service_states,
)
from ansible_collections.upkeep.maintenance.plugins.module_utils._results import failing_entries, result_entry, worst_status
from ansible_collections.upkeep.maintenance.plugins.module_utils._logs import count_errors, expand_files
from ansible_collections.upkeep.maintenance.plugins.module_utils._units import human_bytes, parse_duration
from ansible_collections.upkeep.maintenance.plugins.module_utils._windows import (
    STATE_FILE,
    past_deadline,
    read_record,
    stopped_services,
)

PSEUDO_FILESYSTEMS = {"proc", "sysfs", "devtmpfs", "devpts", "tmpfs", "cgroup", "cgroup2", "overlay", "squashfs",
                      "securityfs", "pstore", "debugfs", "tracefs", "mqueue", "hugetlbfs", "autofs", "binfmt_misc",
                      "configfs", "fusectl", "nsfs", "bpf", "ramfs", "rpc_pipefs", "efivarfs", "fuse.lxcfs"}


def level(value, warning, critical):
    if value >= critical:
        return "critical"
    if value >= warning:
        return "warning"
    return "ok"


class Health(object):
    def __init__(self, module, window):
        self.module = module
        self.params = module.params
        self.findings = []
        # What an open window within its deadline stopped is expected; past its deadline, nothing is.
        self.window = window if window and not past_deadline(window) else None
        self.expected_services, self.expected_compose = stopped_services(self.window) if self.window else ([], {})
        self.expected = []

    def finding(self, check, target, status, summary, **metrics):
        if status != "ok":
            self.findings.append(result_entry(check, target, status, summary, metrics=metrics))

    def judge(self, status, what, stopped_by_window):
        """A problem the open window explains is ok, and listed as expected."""
        if status != "ok" and stopped_by_window:
            self.expected.append(what)
            return "ok"
        return status

    def services(self):
        names = self.params["services"]
        states = service_states(self.module, names, service_manager(self.params["service_manager"]))
        results = []
        for name, state in zip(names, states):
            status = self.judge("ok" if state == "active" else "critical", name, name in self.expected_services)
            results.append(dict(name=name, state=state, status=status))
            self.finding("health_service", name, status, "service %s is %s" % (name, state))
        return results

    def containers(self):
        """Each container of the Compose projects (found by their labels, so either Compose made them): not
        running, unhealthy or restarting more than allowed is a finding."""
        results = []
        for project in self.params["compose_projects"]:
            try:
                found = project_containers(self.module, project)
            except ComposeError as error:
                self.finding("health_container", project, "critical", "cannot list the containers of %s: %s" % (project, error))
                continue
            if not found:
                self.finding("health_container", project, "critical", "compose project %s has no containers" % project)
            for container in found:
                problems, status = [], "ok"
                if container["state"] != "running":
                    problems.append("is %s%s" % (container["state"], " (exit code %s)" % container["exit_code"]
                                                 if container["state"] == "exited" else ""))
                    status = "critical"
                elif container["health"] == "unhealthy":
                    problems.append("is unhealthy")
                    status = "critical"
                elif container["health"] == "starting":
                    problems.append("is still starting")
                    status = "warning"
                if container["restarts"] > self.params["container_restarts_warning"]:
                    problems.append("restarted %d times" % container["restarts"])
                    status = "critical" if status == "critical" else "warning"
                stopped = self.expected_compose.get(project)
                status = self.judge(status, "%s/%s" % (project, container["service"] or container["name"]),
                                    stopped is not None and container["state"] != "running"
                                    and (not stopped or container["service"] in stopped))
                results.append(dict(container, project=project, status=status))
                if problems:
                    self.finding("health_container", "%s/%s" % (project, container["service"] or container["name"]), status,
                                 "container %s %s" % (container["name"], " and ".join(problems)),
                                 restarts=container["restarts"])
        return results

    def endpoints(self):
        endpoints = endpoint_specs(self.params["endpoints"])
        if not endpoints:
            return []
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(16, len(endpoints))) as pool:
            results = list(pool.map(lambda endpoint: request_endpoint(endpoint, self.params["timeout"]), endpoints))
        for result in results:
            # The window stopped the application and raised its maintenance page: its endpoints may not answer.
            result["status"] = self.judge(result["status"], result["url"], self.window is not None)
            self.finding("health_endpoint", result["url"], result["status"], "%s: %s" % (result["url"], result["message"]),
                         duration_seconds=result["seconds"])
        return results

    def mounts(self):
        if self.params["mounts"]:
            return [(mount, None, None) for mount in self.params["mounts"]]
        found, seen = [], set()
        with open("/proc/mounts") as mounts:
            for line in mounts:
                device, mount, fstype = line.split()[:3]
                mount = mount.replace("\\040", " ")
                if fstype in PSEUDO_FILESYSTEMS or mount in seen:
                    continue
                seen.add(mount)
                found.append((mount, device, fstype))
        return found

    def disks(self):
        results = []
        for mount, device, fstype in self.mounts():
            try:
                stats = os.statvfs(mount)
            except OSError as error:
                results.append(dict(mount=mount, device=device, fstype=fstype, status="critical"))
                self.finding("health_disk", mount, "critical", "cannot read %s: %s" % (mount, error.strerror))
                continue
            size = stats.f_blocks * stats.f_frsize
            if size == 0:
                continue
            available = stats.f_bavail * stats.f_frsize
            used = size - stats.f_bfree * stats.f_frsize
            # As df counts it: the blocks reserved for root are not available to others.
            used_percent = round(100.0 * used / (used + available), 1) if used + available else 0.0
            status = level(used_percent, self.params["disk_warning"], self.params["disk_critical"])
            results.append(dict(mount=mount, device=device, fstype=fstype, size=size, used=used, available=available,
                                used_percent=used_percent, status=status))
            self.finding("health_disk", mount, status, "%s is %.0f %% full (%s free of %s)" % (
                mount, used_percent, human_bytes(available), human_bytes(size)), used_ratio=round(used_percent / 100, 3),
                available_bytes=available)
        return results

    def memory(self):
        values = {}
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                name, _colon, rest = line.partition(":")
                values[name] = int(rest.split()[0]) * 1024
        total = values["MemTotal"]
        available = values.get("MemAvailable", values.get("MemFree", 0))
        used_percent = round(100.0 * (total - available) / total, 1)
        status = level(used_percent, self.params["memory_warning"], self.params["memory_critical"])
        self.finding("health_memory", "memory", status, "memory %.0f %% used (%s available of %s)" % (
            used_percent, human_bytes(available), human_bytes(total)), used_ratio=round(used_percent / 100, 3))
        return dict(total=total, available=available, used_percent=used_percent, status=status)

    def load(self):
        load = load_per_core()
        status = level(load["per_core"], self.params["load_warning"], self.params["load_critical"])
        self.finding("health_load", "load", status, "five-minute load %.2f on %d cores (%.0f %%)" % (
            load["load5"], load["cores"], load["per_core"] * 100), load_per_core=load["per_core"])
        return dict(load, status=status)

    def gather(self):
        return dict(services=self.services(), containers=self.containers(), endpoints=self.endpoints(),
                    disks=self.disks(), memory=self.memory(), load=self.load())


def window_entry(window, expected):
    """What the open window explains, or that it is past its deadline; None without a window."""
    if not window:
        return None
    since = "the %s window open since %s" % (window.get("name", "maintenance"), window["opened"])
    if past_deadline(window):
        return result_entry("window_open", window.get("name", "maintenance"), "critical",
                            "%s is past its deadline %s: what it stopped counts as down" % (since, window["deadline"]),
                            metrics=dict(window_open=0))
    return result_entry("window_open", window.get("name", "maintenance"), "ok", "%s%s: %s" % (
        since, " until %s" % window["deadline"] if window.get("deadline") else "",
        "expected down: %s" % ", ".join(expected) if expected else "all it stopped is back"),
        metrics=dict(window_open=1), details=dict(expected=expected))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            services=dict(type="list", elements="str", default=[]),
            service_manager=dict(type="str", default="auto", choices=SERVICE_MANAGER_CHOICES),
            compose_projects=dict(type="list", elements="str", default=[]),
            container_restarts_warning=dict(type="int", default=3),
            endpoints=dict(type="list", elements="raw", default=[]),
            timeout=dict(type="float", default=10.0),
            mounts=dict(type="list", elements="path", default=[]),
            disk_warning=dict(type="float", default=80.0),
            disk_critical=dict(type="float", default=90.0),
            memory_warning=dict(type="float", default=85.0),
            memory_critical=dict(type="float", default=95.0),
            load_warning=dict(type="float", default=0.8),
            load_critical=dict(type="float", default=1.5),
            logs=dict(type="list", elements="raw", default=[]),
            log_patterns=dict(type="list", elements="str", default=[r"\bERROR\b", r"\bCRITICAL\b", r"\bFATAL\b"]),
            log_window=dict(type="str", default="24h"),
            log_warning=dict(type="int", default=10),
            log_critical=dict(type="int", default=100),
            window_state_file=dict(type="path", default=STATE_FILE),
            fail_on=dict(type="str", default="never", choices=["critical", "warning", "never"]),
        ),
        supports_check_mode=True)
    try:
        window = read_record(module.params["window_state_file"])
        endpoint_specs(module.params["endpoints"])
        log_window = parse_duration(module.params["log_window"])
        # The logs are named and their patterns compiled before anything is checked.
        expand_files(module.params["logs"], module.params["log_patterns"], module.params["log_warning"],
                     module.params["log_critical"])
    except ValueError as error:
        module.fail_json(msg=str(error))
    for name in ("disk", "memory", "load"):
        if module.params[name + "_warning"] > module.params[name + "_critical"]:
            module.fail_json(msg="%s_warning must not be above %s_critical" % (name, name))

    health = Health(module, window)
    result = health.gather()
    worst_disk = max([disk.get("used_percent", 0) for disk in result["disks"]] or [0])
    containers = "%d/%d containers up, " % (sum(1 for container in result["containers"] if container["status"] == "ok"),
                                            len(result["containers"])) if module.params["compose_projects"] else ""
    summary = "%d/%d services up, %s%d/%d endpoints ok, fullest disk %.0f %%, memory %.0f %%, load %.0f %% of %d cores; %s" % (
        sum(1 for service in result["services"] if service["state"] == "active"), len(result["services"]), containers,
        sum(1 for endpoint in result["endpoints"] if endpoint["status"] == "ok"), len(result["endpoints"]),
        worst_disk, result["memory"]["used_percent"], result["load"]["per_core"] * 100, result["load"]["cores"],
        "%d findings, worst %s" % (len(health.findings), worst_status(f["status"] for f in health.findings))
        if health.findings else "no findings")
    overview = result_entry("host_health", "host", "ok", summary, metrics=dict(
        disk_used_ratio=round(worst_disk / 100, 3), memory_used_ratio=round(result["memory"]["used_percent"] / 100, 3),
        load_per_core=result["load"]["per_core"], findings=len(health.findings)),
        details=dict(containers=result["containers"]) if result["containers"] else None)
    logs, log_entries = count_errors(module.params["logs"], module.params["log_patterns"], log_window,
                                     module.params["log_warning"], module.params["log_critical"])
    opened = window_entry(window, health.expected)
    findings = health.findings + ([opened] if opened and opened["status"] != "ok" else [])
    result.update(changed=False, findings=findings, logs=logs, upkeep_results=[overview] + ([opened] if opened else [])
                  + health.findings + log_entries,
                  window=dict(name=window.get("name"), opened=window["opened"], deadline=window.get("deadline"),
                              past_deadline=past_deadline(window)) if window else None)
    failing = failing_entries(findings + log_entries, module.params["fail_on"])
    if failing:
        module.fail_json(msg="; ".join(entry["summary"] for entry in failing), **result)
    module.exit_json(msg=summary, **result)


if __name__ == "__main__":
    main()
