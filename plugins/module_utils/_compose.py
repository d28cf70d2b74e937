# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Docker Compose projects as the maintenance sees them: their containers found by the labels both Compose v1
(docker-compose) and v2 (docker compose) give them, with state, health, restarts and exit codes from docker inspect;
their services stopped and started through whichever Compose the host has, which keeps the dependency order."""

import json
import os
import time

# Compose projects of the window and of the health check (doc fragment upkeep.maintenance.compose).
COMPOSE_PROJECT_SPEC = dict(
    project_dir=dict(type="path", required=True),
    project=dict(type="str"),
    files=dict(type="list", elements="path", default=[]),
    services=dict(type="list", elements="str", default=[]),
    wait_healthy=dict(type="bool", default=True),
)

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"


class ComposeError(Exception):
    """Docker or Compose missing, or a command of theirs that failed, in one line."""


def docker(module):
    path = module.get_bin_path("docker")
    if not path:
        raise ComposeError("the docker command is not installed (Debian: apt install docker.io)")
    return path


def compose_command(module):
    """The host's Compose: the v2 plugin (docker compose) where it answers, else v1 (docker-compose)."""
    binary = docker(module)
    rc, _out, _err = module.run_command([binary, "compose", "version"])
    if rc == 0:
        return [binary, "compose"]
    legacy = module.get_bin_path("docker-compose")
    if legacy:
        return [legacy]
    raise ComposeError("neither docker compose (v2) nor docker-compose (v1) is installed")


def project_name(spec):
    """The project's name as Compose derives it when none is given: COMPOSE_PROJECT_NAME of the folder's .env file,
    else the folder's name, lower case, alphanumerics."""
    if spec.get("project"):
        return spec["project"]
    named = dotenv_value(os.path.join(spec["project_dir"], ".env"), "COMPOSE_PROJECT_NAME")
    if named:
        return named
    base = os.path.basename(os.path.normpath(spec["project_dir"])).lower()
    return "".join(character for character in base if character.isalnum() or character in "-_")


def dotenv_value(path, key):
    """The value a Compose .env file gives key (KEY=value, optionally quoted or after export), or None."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read(1024 * 1024).splitlines()
    except OSError:
        return None
    value = None
    for line in lines:
        name, equals, text = line.strip().partition("=")
        name = name[len("export "):].strip() if name.startswith("export ") else name.strip()
        if equals and name == key:
            text = text.strip()
            value = text[1:-1] if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"" else text
    return value


def compose(module, spec, *arguments):
    """Run a Compose command in the project's folder; its standard output, or ComposeError."""
    command = compose_command(module) + ["-p", project_name(spec)]
    for path in spec.get("files") or []:
        command += ["-f", path]
    rc, out, err = module.run_command(command + list(arguments), cwd=spec["project_dir"])
    if rc != 0:
        raise ComposeError("%s: %s" % (" ".join(command[-2:] + list(arguments[:1])), last_line(err or out, rc)))
    return out


def last_line(text, rc):
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else "exit code %d" % rc


def containers(module, project):
    """Every container of a project (running or not): name, service, state, health, restarts, exit code."""
    binary = docker(module)
    rc, out, err = module.run_command([binary, "ps", "--all", "--quiet", "--no-trunc", "--filter",
                                       "label=%s=%s" % (PROJECT_LABEL, project)])
    if rc != 0:
        raise ComposeError("docker ps: %s" % last_line(err, rc))
    ids = out.split()
    if not ids:
        return []
    rc, out, err = module.run_command([binary, "inspect"] + ids)
    if rc != 0:
        raise ComposeError("docker inspect: %s" % last_line(err, rc))
    found = []
    for item in json.loads(out):
        state = item.get("State") or {}
        labels = (item.get("Config") or {}).get("Labels") or {}
        found.append(dict(
            name=item.get("Name", "").lstrip("/"), service=labels.get(SERVICE_LABEL), state=state.get("Status"),
            health=(state.get("Health") or {}).get("Status"), restarts=item.get("RestartCount", 0),
            exit_code=state.get("ExitCode"), started=state.get("StartedAt")))
    return sorted(found, key=lambda container: container["name"])


COMPOSE_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")


def check_project(module, spec):
    """ComposeError unless the project's folder and compose file are there and a Compose can act on them."""
    if not os.path.isdir(spec["project_dir"]):
        raise ComposeError("%s is not a folder" % spec["project_dir"])
    files = [os.path.join(spec["project_dir"], path) for path in spec.get("files") or []] or \
        [os.path.join(spec["project_dir"], name) for name in COMPOSE_FILES]
    if not any(os.path.isfile(path) for path in files):
        raise ComposeError("no compose file in %s" % spec["project_dir"])
    compose_command(module)


def running_services(module, spec):
    """The services of the project (those listed, or all) that have a running container."""
    check_project(module, spec)
    wanted = set(spec.get("services") or [])
    return sorted(set(container["service"] for container in containers(module, project_name(spec))
                      if container["state"] == "running" and container["service"] and
                      (not wanted or container["service"] in wanted)))


def wait_healthy(module, spec, services, timeout):
    """Wait until every container of the services runs and, where it has a healthcheck, is healthy; the
    containers that are not, when the time is up (empty when all are)."""
    deadline = time.monotonic() + timeout
    while True:
        pending = [container for container in containers(module, project_name(spec))
                   if container["service"] in services and
                   (container["state"] != "running" or container["health"] not in (None, "healthy"))]
        if not pending or time.monotonic() >= deadline:
            return pending
        time.sleep(1)
