# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the health check and the maintenance window both ask a host: are its services running, do its endpoints answer."""

import os
import time
import urllib.error

from ansible.module_utils.urls import open_url

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
    """One request to an endpoint (a dict with url, status, max_seconds, validate_certs) and how it went."""
    url = endpoint["url"]
    started = time.monotonic()
    try:
        response = open_url(url, timeout=timeout, validate_certs=endpoint.get("validate_certs", True),
                            http_agent="upkeep.maintenance")
        try:
            response.read(65536)
            code = response.status
        finally:
            response.close()
    except urllib.error.HTTPError as error:
        code = error.code
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        return dict(url=url, status_code=None, seconds=round(time.monotonic() - started, 3), status="critical",
                    message="no answer: %s" % reason)
    seconds = round(time.monotonic() - started, 3)
    expected = int(endpoint.get("status", 200))
    budget = float(endpoint.get("max_seconds", 1.0))
    if code != expected:
        status, message = "critical", "answered %d, %d expected (%.2f s)" % (code, expected, seconds)
    elif seconds > budget:
        status, message = "warning", "%d in %.2f s, over its %.2f s budget" % (code, seconds, budget)
    else:
        status, message = "ok", "%d in %.2f s" % (code, seconds)
    return dict(url=url, status_code=code, seconds=seconds, status=status, message=message)


def endpoint_specs(endpoints):
    """Endpoints as given (URLs or dicts) as dicts; ValueError for a dict without a url."""
    specs = [endpoint if isinstance(endpoint, dict) else dict(url=endpoint) for endpoint in endpoints]
    for spec in specs:
        if not spec.get("url"):
            raise ValueError("every endpoint needs a url: %r" % (spec,))
    return specs


def load_per_core():
    """The five-minute load average per core, with the figures it comes from."""
    load1, load5, load15 = os.getloadavg()
    cores = os.cpu_count() or 1
    return dict(load1=load1, load5=load5, load15=load15, cores=cores, per_core=round(load5 / cores, 2))
