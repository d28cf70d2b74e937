#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: log_scan
short_description: Count error lines over a time window in many log files, in one call
version_added: 0.1.0
description:
  - Reads each log file of O(files) and counts the lines that match O(patterns) and were written within O(window),
    by the time stamp at the start of the line (ISO 8601, syslog and web server access log forms are recognised;
    a line without one, such as a stack trace, has the time of the line before it). In a file without any time
    stamps, every matching line counts when the file was modified within the window.
  - The files are judged together, as a runbook's "more than 100 errors in the week" means all of a host's logs - more
    matches in all of them than O(warning) is a warning, more than O(critical) critical - in one entry holding each
    file's count. A file given with a C(warning) or C(critical) of its own is judged on its own.
  - Only counts are returned, never the lines themselves, so that no secret logged by an application reaches a report.
author:
  - upkeep.maintenance contributors (@upkeep)
extends_documentation_fragment:
  - upkeep.maintenance.attributes
  - upkeep.maintenance.attributes.INFO_MODULE
  - upkeep.maintenance.attributes.PLATFORM
options:
  files:
    description:
      - Log files (globs allowed), each a path or a dict with C(path) and its own C(patterns), C(warning), C(critical);
        a file with a C(warning) or C(critical) of its own is judged apart from the others.
    type: list
    elements: raw
    required: true
  patterns:
    description:
      - Regular expressions of the lines to count.
    type: list
    elements: str
    default: ['\bERROR\b', '\bCRITICAL\b', '\bFATAL\b']
  window:
    description:
      - How far back to count (V(24h), V(1d), V(90m) or seconds).
    type: str
    default: 24h
  warning:
    description: More matching lines than this in the window, in all the files together, is a warning.
    type: int
    default: 10
  critical:
    description: More matching lines than this in the window, in all the files together, is critical.
    type: int
    default: 100
"""

EXAMPLES = r"""
- name: Errors of the last day
  upkeep.maintenance.log_scan:
    files:
      - /var/log/app/*.log
      - path: /var/log/nginx/error.log
        patterns: ['\[(error|crit|alert|emerg)\]']
        warning: 50
"""

RETURN = r"""
files:
  description: Each file with C(path), C(matches) in the window, C(first) and C(last) match times, C(status), C(message).
  returned: always
  type: list
  elements: dict
  sample: [{"path": "/var/log/app/app.log", "matches": 12, "first": "2026-11-22T09:00:00Z", "last": "2026-11-23T01:00:00Z",
            "status": "warning", "message": "12 matching lines in 24.0h"}]
upkeep_results:
  description:
    - One V(log_errors) entry for the files judged together (its target the files as given, its C(matches) their total,
      C(details.files) each file's count), and one per file judged on its own or that could not be read.
  returned: always
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.upkeep.maintenance.plugins.module_utils._logs import count_errors
from ansible_collections.upkeep.maintenance.plugins.module_utils._units import parse_duration


def main():
    module = AnsibleModule(
        argument_spec=dict(
            files=dict(type="list", elements="raw", required=True),
            patterns=dict(type="list", elements="str", default=[r"\bERROR\b", r"\bCRITICAL\b", r"\bFATAL\b"]),
            window=dict(type="str", default="24h"),
            warning=dict(type="int", default=10),
            critical=dict(type="int", default=100),
        ),
        supports_check_mode=True)
    try:
        window = parse_duration(module.params["window"])
    except ValueError as error:
        module.fail_json(msg=str(error))
    try:
        results, entries = count_errors(module.params["files"], module.params["patterns"], window,
                                        module.params["warning"], module.params["critical"])
    except ValueError as error:
        module.fail_json(msg=str(error))
    module.exit_json(changed=False, files=results, upkeep_results=entries,
                     msg="; ".join("%s: %s" % (result["path"], result["message"]) for result in results))


if __name__ == "__main__":
    main()
