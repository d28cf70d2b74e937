# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Whether a maintenance window is past its deadline: the steps inside it start no work after it."""

import time

from ansible.errors import AnsibleFilterError

from ansible_collections.upkeep.maintenance.plugins.module_utils._units import stamp_seconds


def past_deadline(window):
    if not window:
        return False
    if not isinstance(window, dict):
        raise AnsibleFilterError("past_deadline tests the upkeep_window fact, a dict, got %r" % (window,))
    deadline = window.get("deadline")
    if not deadline:
        return False
    try:
        return time.time() >= stamp_seconds(deadline)
    except (TypeError, ValueError):
        raise AnsibleFilterError("the window's deadline %r is not a UTC time such as 2026-11-22T07:00:00Z" % (deadline,))


def open_for_work(window):
    """Whether the steps inside a window may start: this run opened it (no other run's window held the host) and its
    deadline has not passed."""
    return bool(window) and not window.get("held") and not past_deadline(window)


class TestModule(object):

    def tests(self):
        return {"past_deadline": past_deadline, "open_for_work": open_for_work}
