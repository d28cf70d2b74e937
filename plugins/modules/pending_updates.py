#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: pending_updates
short_description: Pending package updates, how many fix security issues, and whether a reboot is needed
version_added: 0.1.0
description:
  - With apt, simulates C(apt-get dist-upgrade) and counts the packages it would upgrade or install; an update is a
    security update when it comes from a security archive (for Debian, C(Debian-Security) and C(*-security) suites).
  - With dnf, lists C(dnf check-update) and the packages of C(dnf updateinfo --security) advisories.
  - Reports whether the host waits for a reboot (C(/var/run/reboot-required) with the packages that asked for it, or
    C(needs-restarting -r)).
  - With O(refresh_cache), first refreshes the package lists (C(apt-get update), C(dnf makecache)) when they are older
    than O(cache_valid_time); that is not counted as a change, and is skipped in check mode.
author:
  - upkeep.maintenance contributors (@upkeep)
extends_documentation_fragment:
  - upkeep.maintenance.attributes
  - upkeep.maintenance.attributes.INFO_MODULE
  - upkeep.maintenance.attributes.PLATFORM
options:
  refresh_cache:
    description:
      - Refresh the package lists first when they are older than O(cache_valid_time).
    type: bool
    default: false
  cache_valid_time:
    description:
      - Seconds for which refreshed package lists are used as they are.
    type: int
    default: 3600
  security_warning:
    description:
      - Pending security updates from which the finding is a V(warning); V(0) makes any of them one.
    type: int
    default: 0
"""

EXAMPLES = r"""
- name: What is pending
  upkeep.maintenance.pending_updates:
  register: pending

- name: Apply only the security updates
  ansible.builtin.apt:
    name: "{{ pending.packages | selectattr('security') | map(attribute='name') | list }}"
    state: latest
    only_upgrade: true
  when: pending.security > 0
"""

RETURN = r"""
manager:
  description: V(apt), V(dnf), or V(none) when neither is installed.
  returned: always
  type: str
pending:
  description: Packages with an update.
  returned: always
  type: int
  sample: 12
security:
  description: Of those, packages with a security update.
  returned: always
  type: int
  sample: 3
packages:
  description: Each package with C(name), C(current), C(available), C(source) and C(security).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "openssl", "current": "3.0.15-1~deb12u1", "available": "3.0.16-1~deb12u1",
            "source": "Debian-Security:12/stable-security", "security": true}]
cache_refreshed:
  description: Whether the package lists were refreshed.
  returned: always
  type: bool
reboot_required:
  description: Whether the host waits for a reboot.
  returned: always
  type: bool
reboot_packages:
  description: The packages that asked for the reboot, where the system says.
  returned: always
  type: list
  elements: str
upkeep_results:
  description: V(updates_pending) and V(reboot_required) entries.
  returned: always
  type: list
  elements: dict
"""

import os
import re
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.upkeep.maintenance.plugins.module_utils._results import result_entry
from ansible_collections.upkeep.maintenance.plugins.module_utils._units import plural

APT_LINE = re.compile(r"^Inst (\S+) (?:\[(\S+)\] )?\((\S+) (.*?)(?: \[[^\]]*\])?\)")


def apt_updates(module):
    rc, out, err = module.run_command(["apt-get", "-s", "-o", "Debug::NoLocking=1", "dist-upgrade"],
                                      environ_update=dict(LANG="C", LC_ALL="C"))
    if rc != 0:
        module.fail_json(msg="apt-get -s dist-upgrade failed: %s" % (err.strip().splitlines() or ["no message"])[-1])
    packages = []
    for line in out.splitlines():
        match = APT_LINE.match(line)
        if match:
            source = match.group(4).strip()
            packages.append(dict(name=match.group(1), current=match.group(2), available=match.group(3), source=source,
                                 security="security" in source.lower()))
    return packages


def dnf_updates(module):
    rc, out, err = module.run_command(["dnf", "-q", "check-update"], environ_update=dict(LANG="C", LC_ALL="C"))
    if rc not in (0, 100):
        module.fail_json(msg="dnf check-update failed: %s" % (err.strip().splitlines() or ["no message"])[-1])
    _rc, advisories, _err = module.run_command(["dnf", "-q", "updateinfo", "list", "--security"],
                                               environ_update=dict(LANG="C", LC_ALL="C"))
    secure = set()
    for line in advisories.splitlines():
        fields = line.split()
        if len(fields) >= 3:
            secure.add(re.sub(r"-[^-]+-[^-]+$", "", fields[-1]))
    packages = []
    for line in out.splitlines():
        fields = line.split()
        if len(fields) == 3 and "." in fields[0] and not line.startswith(" "):
            name = fields[0].rsplit(".", 1)[0]
            packages.append(dict(name=name, current=None, available=fields[1], source=fields[2], security=name in secure))
    return packages


def reboot_state(module):
    if os.path.exists("/var/run/reboot-required"):
        reasons = []
        if os.path.exists("/var/run/reboot-required.pkgs"):
            with open("/var/run/reboot-required.pkgs") as listing:
                reasons = sorted(set(line.strip() for line in listing if line.strip()))
        return True, reasons
    needs_restarting = module.get_bin_path("needs-restarting")
    if needs_restarting:
        rc, _out, _err = module.run_command([needs_restarting, "-r"])
        return rc == 1, []
    return False, []


APT_LISTS = "/var/lib/apt/lists"
DNF_CACHE = "/var/cache/dnf"


def lists_time(manager):
    """When the package lists were last refreshed, or None when there are none."""
    if manager == "dnf":
        return os.stat(DNF_CACHE).st_mtime if os.path.isdir(DNF_CACHE) else None
    if not os.path.isdir(APT_LISTS):
        return None
    times = [entry.stat().st_mtime for entry in os.scandir(APT_LISTS)
             if entry.is_file() and entry.name not in ("lock",) and not entry.name.startswith(".")]
    return max(times) if times else None


def refresh(module, manager):
    """Refresh the package lists when they are older than cache_valid_time; whether it did."""
    if module.check_mode or not module.params["refresh_cache"] or manager == "none":
        return False
    refreshed = lists_time(manager)
    if refreshed is not None and time.time() - refreshed < module.params["cache_valid_time"]:
        return False
    command = ["apt-get", "-q", "update"] if manager == "apt" else ["dnf", "-q", "makecache"]
    rc, _out, err = module.run_command(command, environ_update=dict(LANG="C", LC_ALL="C"))
    if rc != 0:
        module.fail_json(msg="%s failed: %s" % (" ".join(command), (err.strip().splitlines() or ["no message"])[-1]))
    if manager == "dnf":
        os.utime(DNF_CACHE)
    return True


def main():
    module = AnsibleModule(argument_spec=dict(
        refresh_cache=dict(type="bool", default=False),
        cache_valid_time=dict(type="int", default=3600),
        security_warning=dict(type="int", default=0),
    ), supports_check_mode=True)
    manager = "apt" if module.get_bin_path("apt-get") else "dnf" if module.get_bin_path("dnf") else "none"
    refreshed = refresh(module, manager)
    if manager == "apt":
        packages = apt_updates(module)
    elif manager == "dnf":
        packages = dnf_updates(module)
    else:
        packages = []
    security = [package for package in packages if package["security"]]
    reboot_required, reboot_packages = reboot_state(module)
    status = "warning" if security and len(security) > module.params["security_warning"] else "ok"
    summary = "%s pending, %d of them security updates%s" % (
        plural(len(packages), "update"), len(security), ": " + ", ".join(package["name"] for package in security[:10]) if security else "")
    entries = [result_entry("updates_pending", manager, status, summary,
                            metrics=dict(updates=len(packages), security_updates=len(security)))]
    if reboot_required:
        entries.append(result_entry("reboot_required", "host", "warning", "a reboot is required%s" % (
            " by " + ", ".join(reboot_packages) if reboot_packages else ""), metrics=dict(reboot_required=1)))
    module.exit_json(changed=False, manager=manager, cache_refreshed=refreshed, pending=len(packages), security=len(security), packages=packages,
                     reboot_required=reboot_required, reboot_packages=reboot_packages, upkeep_results=entries,
                     msg=summary)


if __name__ == "__main__":
    main()
