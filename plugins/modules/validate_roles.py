#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: validate_roles
short_description: Validate the variables of several of the collection's roles in one task
version_added: 0.1.0
description:
  - Validates a host's variables against the argument specs (C(meta/argument_specs.yml)) of each role named, as
    Ansible does when a role starts, but in one task for all of them. A playbook that runs these roles with
    C(rolespec_validate=false) pays for one validation per host instead of one per role per host; the daily playbook
    does so.
  - Runs on the controller; nothing is sent to the host.
author:
  - upkeep.maintenance contributors (@upkeep)
extends_documentation_fragment:
  - upkeep.maintenance.attributes
  - upkeep.maintenance.attributes.INFO_MODULE
attributes:
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: all
options:
  roles:
    description:
      - The roles of this collection whose argument specs to validate against, by short name (V(sqlite)); an entry
        point other than C(main) after a colon (V(sqlite:maintain)).
    type: list
    elements: str
    required: true
seealso:
  - module: ansible.builtin.validate_argument_spec
"""

EXAMPLES = r"""
- name: Validate the settings of the daily run's roles, once per host
  upkeep.maintenance.validate_roles:
    roles: [sqlite, certificates, backups, health, report]
"""

RETURN = r"""
argument_errors:
  description: Each variable that does not match its role's argument spec, with why.
  returned: failure
  type: list
  elements: str
"""
