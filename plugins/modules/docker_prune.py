#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: docker_prune
short_description: Docker's leftovers pruned by age and kind, with the bytes each kind freed, and container logs measured
version_added: 0.1.0
description:
  - Removes, in one call, what the runbooks prune by hand - stopped containers, unused networks, images (dangling
    ones, or with O(images=unused) every image no container uses, as C(docker image prune -a)) and the build cache,
    each only when older than its age - and reports the bytes each kind gave back.
  - Never removes volumes unless O(volumes) asks for it, since a volume can be the only copy of an application's data.
  - Measures the json-file logs of every container and reports those larger than O(log_size_warning) that Docker
    does not rotate (no C(max-size), for the container or as the daemon's default).
author:
  - upkeep.maintenance contributors (@upkeep)
extends_documentation_fragment:
  - upkeep.maintenance.attributes
  - upkeep.maintenance.attributes.PLATFORM
attributes:
  check_mode:
    support: partial
    details:
      - Check mode prunes nothing; it lists the kinds that would be pruned and still measures the logs.
  diff_mode:
    support: none
options:
  containers_until:
    description:
      - Remove stopped containers created longer ago than this (a Docker duration such as V(168h)); empty keeps them.
    type: str
    default: 168h
  images:
    description:
      - V(dangling) removes untagged images no container uses; V(unused) every image no container uses
        (C(prune -a)); V(none) keeps them.
    type: str
    choices: [dangling, unused, none]
    default: dangling
  images_until:
    description:
      - Only images created longer ago than this.
    type: str
    default: 168h
  build_cache:
    description:
      - Remove build cache older than O(build_cache_until).
    type: bool
    default: true
  build_cache_until:
    description:
      - The age of the build cache to remove.
    type: str
    default: 168h
  networks_until:
    description:
      - Remove unused networks created longer ago than this; empty keeps them.
    type: str
    default: 168h
  volumes:
    description:
      - Also remove the anonymous volumes (those without a name of their own) no container uses; named volumes are
        never removed. Off by default - a volume may hold the only copy of data.
    type: bool
    default: false
  labels:
    description:
      - Prune only the containers, networks, images and anonymous volumes whose labels match all of these - V(key)
        or V(key=value) for those that carry it, V(!key) or V(!key=value) for those that do not (V(!keep) spares
        everything labelled C(keep)).
      - The build cache has no labels, so they do not limit its prune.
    type: list
    elements: str
    default: []
  log_size_warning:
    description:
      - A container's json-file log larger than this (V(100M)) and not rotated by Docker is a V(warning).
    type: str
    default: 100M
seealso:
  - module: upkeep.maintenance.host_health
"""

EXAMPLES = r"""
- name: Weekly - what is dangling or stopped for a week
  upkeep.maintenance.docker_prune:

- name: Monthly - every image unused for 30 days, and the old build cache
  upkeep.maintenance.docker_prune:
    images: unused
    images_until: 720h
    build_cache_until: 720h
"""

RETURN = r"""
pruned:
  description: For each kind pruned (V(containers), V(networks), V(images), V(build_cache), V(volumes)) the bytes freed.
  returned: always
  type: dict
  sample: {"containers": 0, "images": 1288490188, "build_cache": 52428800, "networks": 0}
bytes_reclaimed:
  description: All the bytes freed.
  returned: always
  type: int
logs:
  description: Each container's json-file log - C(container), C(size), C(rotated) (whether Docker rotates it).
  returned: always
  type: list
  elements: dict
upkeep_results:
  description: A V(docker_prune) entry with the bytes by kind, and a V(docker_log) V(warning) for each large log
    Docker does not rotate.
  returned: always
  type: list
  elements: dict
"""

import json
import os
import re
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.upkeep.maintenance.plugins.module_utils._results import result_entry
from ansible_collections.upkeep.maintenance.plugins.module_utils._units import human_bytes, parse_size

SIZE_UNITS = dict(b=1, kb=1000, mb=1000 ** 2, gb=1000 ** 3, tb=1000 ** 4, kib=1024, mib=1024 ** 2, gib=1024 ** 3)


BUSY_WAIT = 300


def reclaimed(output):
    """(bytes, things removed) from a prune's output: "Total reclaimed space: 1.2GB" or the builder's "Total: 1.2GB"
    (decimal units, as Docker prints them), and the lines listed under its "Deleted ...:" headings."""
    match = re.search(r"Total(?: reclaimed space)?:\s*([0-9.]+)\s*([kKmMgGtT]?i?[bB])", output or "")
    size = int(float(match.group(1)) * SIZE_UNITS[match.group(2).lower()]) if match else 0
    removed, listing = 0, False
    for line in (output or "").splitlines():
        stripped = line.strip()
        if re.match(r"^(Deleted|ID\b)", stripped):
            listing = True
        elif not stripped or stripped.startswith("Total"):
            listing = False
        elif listing:
            removed += 1
    return size, removed


def label_filters(labels):
    """Docker's --filter arguments for the labels option: label=KEY[=VALUE], or label!=KEY[=VALUE] for !KEY."""
    arguments = []
    for label in labels:
        negated = label.startswith("!")
        arguments += ["--filter", ("label!=" if negated else "label=") + label.lstrip("!")]
    return arguments


def prune_commands(params):
    commands = []
    labels = label_filters(params["labels"])
    if params["containers_until"]:
        commands.append(("containers", ["container", "prune", "--force", "--filter", "until=" + params["containers_until"]] + labels))
    if params["networks_until"]:
        commands.append(("networks", ["network", "prune", "--force", "--filter", "until=" + params["networks_until"]] + labels))
    if params["images"] != "none":
        commands.append(("images", ["image", "prune", "--force"] + (["--all"] if params["images"] == "unused" else []) +
                         ["--filter", "until=" + params["images_until"]] + labels))
    if params["build_cache"]:
        commands.append(("build_cache", ["builder", "prune", "--force", "--filter", "until=" + params["build_cache_until"]]))
    return commands


def labels_match(labels, wanted):
    """Whether an object's labels (a dict) pass the labels option, as Docker's label filters would."""
    for condition in wanted:
        negated = condition.startswith("!")
        key, equals, value = condition.lstrip("!").partition("=")
        present = key in labels and (not equals or labels[key] == value)
        if present == negated:
            return False
    return True


def prune_anonymous_volumes(module, docker, wanted):
    """Remove the unused volumes that have no name of their own. docker volume prune of Docker before 23 removes
    unused named volumes too - the data volume of a stack that is down, say - so the anonymous ones are picked here,
    and their labels matched here (docker volume ls has no label!= filter)."""
    rc, out, err = module.run_command([docker, "volume", "ls", "--quiet", "--filter", "dangling=true"])
    if rc != 0:
        module.fail_json(msg="docker volume ls: %s" % (err.strip() or out.strip()))
    anonymous = [name for name in out.split() if re.match(r"^[0-9a-f]{64}$", name)]
    if anonymous and wanted:
        rc, out, err = module.run_command([docker, "volume", "inspect"] + anonymous)
        if rc != 0:
            module.fail_json(msg="docker volume inspect: %s" % (err.strip() or out.strip()))
        anonymous = [item["Name"] for item in json.loads(out) if labels_match(item.get("Labels") or {}, wanted)]
    if anonymous:
        rc, out, err = module.run_command([docker, "volume", "rm"] + anonymous)
        if rc != 0:
            module.fail_json(msg="docker volume rm: %s" % (err.strip() or out.strip()).splitlines()[-1])
    return len(anonymous)


def container_logs(module, docker, limit):
    rc, out, err = module.run_command([docker, "ps", "--all", "--quiet", "--no-trunc"])
    if rc != 0 or not out.split():
        return []
    rc, out, err = module.run_command([docker, "inspect"] + out.split())
    if rc != 0:
        module.fail_json(msg="docker inspect: %s" % (err.strip() or out.strip()))
    logs = []
    for item in json.loads(out):
        config = (item.get("HostConfig") or {}).get("LogConfig") or {}
        path = item.get("LogPath")
        if config.get("Type") != "json-file" or not path:
            continue
        try:
            size = os.stat(path).st_size
        except OSError:
            continue
        logs.append(dict(container=item.get("Name", "").lstrip("/"), size=size, path=path,
                         rotated=bool((config.get("Config") or {}).get("max-size"))))
    return logs


def run_prune(module, docker, arguments):
    """One prune; the daemon runs one prune of a kind at a time and refuses a second (another host's run on a shared
    daemon, a cron job), so a refused one waits for it and tries again, up to BUSY_WAIT seconds."""
    deadline = time.monotonic() + BUSY_WAIT
    while True:
        rc, out, err = module.run_command([docker] + arguments)
        if rc == 0 or "prune operation is already running" not in err or time.monotonic() >= deadline:
            return rc, out, err
        time.sleep(2)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            containers_until=dict(type="str", default="168h"),
            images=dict(type="str", default="dangling", choices=["dangling", "unused", "none"]),
            images_until=dict(type="str", default="168h"),
            build_cache=dict(type="bool", default=True),
            build_cache_until=dict(type="str", default="168h"),
            networks_until=dict(type="str", default="168h"),
            volumes=dict(type="bool", default=False),
            labels=dict(type="list", elements="str", default=[]),
            log_size_warning=dict(type="str", default="100M"),
        ),
        supports_check_mode=True)
    params = module.params
    try:
        limit = parse_size(params["log_size_warning"])
    except ValueError as error:
        module.fail_json(msg=str(error))
    if any(not label.lstrip("!") for label in params["labels"]):
        module.fail_json(msg="labels: an empty label matches nothing; give key, key=value, !key or !key=value")
    docker = module.get_bin_path("docker")
    if not docker:
        module.exit_json(changed=False, msg="Docker is not installed: nothing to prune", pruned={}, bytes_reclaimed=0,
                         logs=[], upkeep_results=[])
    rc, _out, err = module.run_command([docker, "version", "--format", "{{.Server.Version}}"])
    if rc != 0:
        # The command without its daemon: Docker is installed but stopped, or this user may not use its socket.
        summary = "Docker's daemon does not answer, nothing pruned: %s" % (err.strip().splitlines() or ["no message"])[-1]
        module.exit_json(changed=False, msg=summary, pruned={}, bytes_reclaimed=0, logs=[],
                         upkeep_results=[result_entry("docker_prune", "docker", "warning", summary)])
    pruned, removed = {}, 0
    commands = prune_commands(params)
    if not module.check_mode:
        for kind, arguments in commands:
            rc, out, err = run_prune(module, docker, arguments)
            if rc != 0:
                module.fail_json(msg="docker %s: %s" % (" ".join(arguments[:2]), (err.strip() or out.strip()).splitlines()[-1]),
                                 pruned=pruned)
            pruned[kind], count = reclaimed(out)
            removed += count
        if params["volumes"]:
            pruned["volumes"] = 0
            removed += prune_anonymous_volumes(module, docker, params["labels"])
    total = sum(pruned.values())
    logs = container_logs(module, docker, limit)
    if module.check_mode:
        summary = "would prune %s" % ", ".join(kind.replace("_", " ") for kind, _arguments in commands)
    else:
        summary = "%s freed (%s)" % (human_bytes(total), ", ".join(
            "%s %s" % (kind.replace("_", " "), human_bytes(size)) for kind, size in pruned.items()))
    entries = [result_entry("docker_prune", "docker", "changed" if total or removed else "ok", summary,
                            metrics=dict(dict(("%s_bytes" % kind, size) for kind, size in pruned.items()), bytes_reclaimed=total))]
    entries += [result_entry("docker_log", log["container"], "warning",
                             "json-file log of %s is %s and Docker does not rotate it: set max-size (log-opts)" % (
                                 log["container"], human_bytes(log["size"])), metrics=dict(size_bytes=log["size"]))
                for log in logs if log["size"] > limit and not log["rotated"]]
    module.exit_json(changed=bool(total or removed), msg=summary, pruned=pruned, bytes_reclaimed=total, logs=logs, upkeep_results=entries)


if __name__ == "__main__":
    main()
