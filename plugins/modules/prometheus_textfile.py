#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: prometheus_textfile
short_description: Write metrics for node_exporter's textfile collector, atomically, in one call
version_added: 0.1.0
description:
  - Writes O(content) to O(path) under a hidden temporary name in the same folder, syncs it and renames it into place,
    so that node_exporter never reads half a file; creates the folder first when it is missing.
  - One module call where C(ansible.builtin.file) and C(ansible.builtin.copy) take four round trips to the host, which
    counts on every host of every run.
author:
  - upkeep.maintenance contributors (@upkeep)
extends_documentation_fragment:
  - upkeep.maintenance.attributes
  - upkeep.maintenance.attributes.PLATFORM
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
options:
  path:
    description:
      - The metrics file, ending in C(.prom) for the collector to read it.
    type: path
    required: true
  content:
    description:
      - The metrics in the Prometheus text exposition format.
    type: str
    required: true
  mode:
    description:
      - Permissions of the file, as an octal string such as V('0644').
    type: raw
    default: '0644'
seealso:
  - name: node_exporter's textfile collector
    description: How node_exporter reads metrics from files.
    link: https://github.com/prometheus/node_exporter#textfile-collector
"""

EXAMPLES = r"""
- name: Publish the run's metrics
  upkeep.maintenance.prometheus_textfile:
    path: /var/lib/prometheus/node-exporter/upkeep_weekly.prom
    content: "{{ report | upkeep.maintenance.upkeep_prometheus(inventory_hostname) }}"
"""

RETURN = r"""
path:
  description: The file written.
  returned: always
  type: str
  sample: /var/lib/prometheus/node-exporter/upkeep_weekly.prom
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.upkeep.maintenance.plugins.module_utils._files import parse_mode, write_atomically


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            content=dict(type="str", required=True),
            mode=dict(type="raw", default="0644"),
        ),
        supports_check_mode=True)
    path = module.params["path"]
    try:
        mode = parse_mode(module.params["mode"])
    except ValueError as error:
        module.fail_json(msg=str(error))
    if not path.endswith(".prom"):
        module.fail_json(msg="%s: node_exporter's textfile collector reads only files ending in .prom" % path)
    try:
        with open(path) as stream:
            current = stream.read()
    except FileNotFoundError:
        current = None
    except OSError as error:
        module.fail_json(msg="%s: %s" % (path, error.strerror))
    changed = current != module.params["content"] or (os.stat(path).st_mode & 0o7777) != mode
    if changed and not module.check_mode:
        try:
            # Several hosts of one machine (local connections) may write into one folder at once.
            os.makedirs(os.path.dirname(path), 0o755, exist_ok=True)
            write_atomically(path, module.params["content"], mode)
        except OSError as error:
            module.fail_json(msg="%s: %s" % (error.filename or path, error.strerror))
    module.exit_json(changed=changed, path=path)


if __name__ == "__main__":
    main()
