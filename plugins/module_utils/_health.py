# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the health check and the maintenance window both ask a host: are its services running, do its endpoints answer."""

import math
import os
import time
import urllib.error

from ansible.module_utils.urls import open_url

from ansible_collections.upkeep.maintenance.plugins.module_utils._network import DeadlineExceeded, within

SERVICE_MANAGER_CHOICES = ["auto", "systemd", "sysvinit"]


def service_manager(choice):
    if choice != "auto":
        return choice
    return "systemd" if os.path.isdir("/run/systemd/system") else "sysvinit"


def service_states(module, names, manager):
    """``active``, ``inactive``, ``failed``, ``not-found``... for each service, in order."""
    if not names:
        return []
    if manager == "systemd":
        _rc, out, _err = module.run_command(["systemctl", "is-active", "--"] + list(names))
        states = out.split()
        return states + ["unknown"] * (len(names) - len(states))
    states = []
    for name in names:
        script = os.path.join("/etc/init.d", name)
        if not os.path.exists(script):
            states.append("not-found")
            continue
        rc, _out, _err = module.run_command([script, "status"])
        states.append("active" if rc == 0 else "inactive")
    return states


def control_service(module, name, action, manager):
    """Starts or stops one service; None when it worked, else what went wrong."""
    command = ["systemctl", action, "--", name] if manager == "systemd" else [os.path.join("/etc/init.d", name), action]
    rc, out, err = module.run_command(command)
    if rc == 0:
        return None
    return (err.strip() or out.strip() or "exit code %d" % rc).splitlines()[-1]


def request_endpoint(endpoint, timeout):
    """One request to an endpoint (a dict from endpoint_specs) and how it went. The whole request, from connecting
    to the last byte read, takes at most timeout seconds: a server that trickles its answer is cut off."""
    url = endpoint["url"]
    started = time.monotonic()
    try:
        code = within(timeout, fetch_status, url, timeout, endpoint["validate_certs"])
    except DeadlineExceeded as error:
        return dict(url=url, status_code=None, seconds=round(time.monotonic() - started, 3), status="critical",
                    message="no answer: %s" % error)
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        return dict(url=url, status_code=None, seconds=round(time.monotonic() - started, 3), status="critical",
                    message="no answer: %s" % reason)
    seconds = round(time.monotonic() - started, 3)
    expected, budget = endpoint["status"], endpoint["max_seconds"]
    if code != expected:
        status, message = "critical", "answered %d, %d expected (%.2f s)" % (code, expected, seconds)
    elif seconds > budget:
        status, message = "warning", "%d in %.2f s, over its %.2f s budget" % (code, seconds, budget)
    else:
        status, message = "ok", "%d in %.2f s" % (code, seconds)
    return dict(url=url, status_code=code, seconds=seconds, status=status, message=message)


def fetch_status(url, timeout, validate_certs):
    """The HTTP status of a GET, the first 64 KiB of the body read."""
    try:
        response = open_url(url, timeout=timeout, validate_certs=validate_certs, http_agent="upkeep.maintenance")
    except urllib.error.HTTPError as error:
        return error.code
    try:
        response.read(65536)
        return response.status
    finally:
        response.close()


def endpoint_specs(endpoints):
    """Endpoints as given (URLs or dicts with url, status, max_seconds, validate_certs) as dicts with every key set;
    ValueError naming the endpoint for one that is not an HTTP(S) URL or has an impossible status or budget."""
    specs = []
    for endpoint in endpoints:
        spec = dict(endpoint) if isinstance(endpoint, dict) else dict(url=endpoint)
        url = spec.get("url")
        if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")) or len(url) < 9:
            raise ValueError("every endpoint needs an http:// or https:// url: %r" % (endpoint,))
        try:
            spec["status"] = int(spec.get("status", 200))
            spec["max_seconds"] = float(spec.get("max_seconds", 1.0))
        except (TypeError, ValueError):
            raise ValueError("endpoint %s: status must be a number and max_seconds a number of seconds" % url)
        if not 100 <= spec["status"] <= 599 or not math.isfinite(spec["max_seconds"]) or spec["max_seconds"] <= 0:
            raise ValueError("endpoint %s: status must be an HTTP status (100 to 599) and max_seconds above 0" % url)
        spec["validate_certs"] = bool(spec.get("validate_certs", True))
        specs.append(spec)
    return specs


def load_per_core():
    """The five-minute load average per core, with the figures it comes from."""
    load1, load5, load15 = os.getloadavg()
    cores = os.cpu_count() or 1
    return dict(load1=load1, load5=load5, load15=load15, cores=cores, per_core=round(load5 / cores, 2))
