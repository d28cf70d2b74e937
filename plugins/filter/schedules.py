# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The schedule filters; the calendar logic is in plugin_utils/_calendar.py."""

from ansible_collections.upkeep.maintenance.plugins.plugin_utils._calendar import calendar, next_run, overlapping_windows, window_notices


class FilterModule(object):

    def filters(self):
        return {"calendar": calendar, "next_run": next_run, "window_notices": window_notices,
                "overlapping_windows": overlapping_windows}
