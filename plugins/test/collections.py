# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Whether a collection is installed where the controller looks for collections: optional integrations check it
before loading tasks that need it, so that a missing one is named instead of failing the whole playbook's parse."""

import importlib.util
import re

from ansible.errors import AnsibleFilterError

COLLECTION_NAME = re.compile(r"^[a-z0-9_]+\.[a-z0-9_]+$")


def installed_collection(name):
    if not isinstance(name, str) or not COLLECTION_NAME.match(name):
        raise AnsibleFilterError("installed_collection wants a collection name such as awx.awx, got %r" % (name,))
    try:
        return importlib.util.find_spec("ansible_collections." + name) is not None
    except ImportError:
        return False


class TestModule(object):

    def tests(self):
        return {"installed_collection": installed_collection}
