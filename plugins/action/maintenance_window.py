# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""maintenance_window on behalf of this ansible-playbook run: an opening names the run as the window's holder, waits
while the window of another live run holds the host, and resumes the window of a run that is gone. Whether a run is
alive is asked on the controller, where it runs; the module on the host only reads and writes the record."""

import os
import socket
import time

from ansible.plugins.action import ActionBase

from ansible_collections.upkeep.maintenance.plugins.module_utils._units import parse_duration

MANUAL = "manual"


def boot_id():
    try:
        with open("/proc/sys/kernel/random/boot_id") as stream:
            return stream.read().strip()[:8]
    except OSError:
        return ""


def process_start(pid):
    """When a process started, in clock ticks since boot, or None when it does not run."""
    try:
        with open("/proc/%d/stat" % pid) as stream:
            # The fields after the command's name, which may hold spaces and parentheses; the start is the 22nd field.
            return stream.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def this_run():
    """The ansible-playbook run of this task: the worker running it is its child."""
    pid = os.getppid()
    return "%s:%d:%s:%s" % (socket.gethostname(), pid, process_start(pid), boot_id())


def run_alive(holder):
    """Whether the run holding a window still runs: True or False for a run of this controller, None for a run of
    another one (an execution environment of AWX, another control host), whose processes cannot be asked. A window
    opened by hand (window_open) is held until it is closed by hand."""
    if holder == MANUAL:
        return True
    try:
        controller, pid, started, boot = holder.rsplit(":", 3)
        pid = int(pid)
    except ValueError:
        return None
    if controller != socket.gethostname():
        return None
    return boot == boot_id() and started == process_start(pid)


class ActionModule(ActionBase):

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = dict(self._task.args)
        if args.get("state") != "open":
            result.update(self._execute_module(module_args=args, task_vars=task_vars))
            return result
        args["holder"] = args.get("holder") or this_run()
        try:
            wait = parse_duration(args.get("holder_wait", "30m"))
        except ValueError:
            wait = 0  # the module names the bad value
        started = time.monotonic()
        while True:
            outcome = self._execute_module(module_args=args, task_vars=task_vars)
            held = outcome.get("held")
            if not held:
                break
            alive = run_alive(held["holder"])
            if not (alive if alive is not None else not held["expired"]):
                args["take_over"] = held["holder"]
                continue
            waited = time.monotonic() - started
            if waited >= wait:
                held["waited_seconds"] = round(waited)
                break
            time.sleep(min(max(wait / 10.0, 1.0), 10.0, wait - waited))
        result.update(outcome)
        return result
