# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The results filters; the report logic is in plugin_utils/_report.py."""

from ansible_collections.upkeep.maintenance.plugins.plugin_utils._report import (
    upkeep_entries,
    upkeep_entry,
    upkeep_markdown,
    upkeep_notification,
    upkeep_prometheus,
    upkeep_report,
    upkeep_report_changes,
    upkeep_report_extend,
    upkeep_report_merge,
    upkeep_restore_points,
    upkeep_summary,
)


class FilterModule(object):

    def filters(self):
        return {
            "upkeep_entries": upkeep_entries,
            "upkeep_entry": upkeep_entry,
            "upkeep_report": upkeep_report,
            "upkeep_report_extend": upkeep_report_extend,
            "upkeep_report_changes": upkeep_report_changes,
            "upkeep_report_merge": upkeep_report_merge,
            "upkeep_summary": upkeep_summary,
            "upkeep_markdown": upkeep_markdown,
            "upkeep_prometheus": upkeep_prometheus,
            "upkeep_notification": upkeep_notification,
            "upkeep_restore_points": upkeep_restore_points,
        }
