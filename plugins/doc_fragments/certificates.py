# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


class ModuleDocFragment(object):

    # Expiry thresholds of the certificate modules (module_utils._certificates.EXPIRY_THRESHOLD_ARGUMENT_SPEC).
    DOCUMENTATION = r"""
options:
  warn_days:
    description:
      - A certificate with fewer whole days left than this is V(warning).
    type: int
    default: 30
  critical_days:
    description:
      - A certificate with fewer whole days left than this is V(critical).
    type: int
    default: 7
requirements:
  - Python 3.9 or newer on the managed host.
  - C(cryptography) on the managed host (Debian's C(python3-cryptography)).
notes:
  - The modules report their findings in the collection's results contract as RV(ignore:upkeep_results);
    see C(docs/results.md) in the collection.
"""
