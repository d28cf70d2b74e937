# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The variables of several of the collection's roles validated against their argument specs in one task."""

import os

import yaml

from ansible.errors import AnsibleActionFail
from ansible.plugins.action.validate_argument_spec import ActionModule as ValidateArgumentSpec

ROLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "roles")


def entry_point_options(role, entry_point):
    path = os.path.join(ROLES, role, "meta", "argument_specs.yml")
    try:
        with open(path) as stream:
            specs = yaml.safe_load(stream)["argument_specs"]
    except (OSError, KeyError, TypeError) as error:
        raise AnsibleActionFail("role %s has no argument specs to validate against (%s): %s" % (role, path, error))
    if entry_point not in specs:
        raise AnsibleActionFail("role %s has no entry point %s in its argument specs" % (role, entry_point))
    return specs[entry_point].get("options") or {}


class ActionModule(ValidateArgumentSpec):

    def run(self, tmp=None, task_vars=None):
        roles = self._task.args.get("roles")
        if not isinstance(roles, list) or not roles:
            raise AnsibleActionFail("roles must name the roles of the collection to validate, as a list")
        options = {}
        for role in roles:
            name, _sep, entry_point = str(role).partition(":")
            options.update(entry_point_options(name, entry_point or "main"))
        self._task.args = dict(argument_spec=options, validate_args_context=dict(type="role", name=", ".join(map(str, roles))))
        return super(ActionModule, self).run(tmp, task_vars)
