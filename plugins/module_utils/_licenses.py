# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Licenses as packages state them (SPDX expressions, or the names metadata and classifiers give), judged against an
allow list of SPDX identifiers."""

import re

# What package metadata writes for common licenses, by the SPDX identifier meant. A bare "BSD" or "GPL" names no
# single license and stays as written.
NAMES = {
    "mit": "MIT", "mit license": "MIT", "the mit license": "MIT", "expat": "MIT",
    "apache 2.0": "Apache-2.0", "apache-2": "Apache-2.0", "apache 2": "Apache-2.0", "apache license 2.0": "Apache-2.0",
    "apache license, version 2.0": "Apache-2.0", "apache software license": "Apache-2.0", "asl 2.0": "Apache-2.0",
    "bsd-3": "BSD-3-Clause", "new bsd": "BSD-3-Clause", "3-clause bsd": "BSD-3-Clause", "modified bsd": "BSD-3-Clause",
    "bsd-2": "BSD-2-Clause", "simplified bsd": "BSD-2-Clause", "2-clause bsd": "BSD-2-Clause",
    "isc license": "ISC", "isc license (iscl)": "ISC",
    "mozilla public license 2.0 (mpl 2.0)": "MPL-2.0", "mpl 2.0": "MPL-2.0",
    "python software foundation license": "PSF-2.0", "psf": "PSF-2.0", "psfl": "PSF-2.0",
    "the unlicense (unlicense)": "Unlicense", "public domain": "LicenseRef-Public-Domain",
    "gnu general public license v3 (gplv3)": "GPL-3.0-only", "gnu affero general public license v3": "AGPL-3.0-only",
    "gnu lesser general public license v3 (lgplv3)": "LGPL-3.0-only",
}


def spdx(name):
    """The SPDX identifier a license name means, or the name as written."""
    text = " ".join(str(name).split())
    return NAMES.get(text.lower(), text)


def license_verdict(stated, allowed):
    """("allowed" | "unknown" | "disallowed", reason): an expression with OR needs one allowed choice, with AND all;
    parentheses are read as grouping the same way."""
    wanted = set(identifier.lower() for identifier in allowed)
    text = " ".join(str(stated or "").split())
    if not text or text.upper() in ("UNKNOWN", "NONE", "SEE LICENSE IN LICENSE", "UNLICENSED"):
        return "unknown", "the license is not stated%s" % (" (%s)" % text if text else "")

    def judged(expression):
        expression = expression.strip()
        while expression.startswith("(") and expression.endswith(")"):
            expression = expression[1:-1].strip()
        choices = split(expression, "OR")
        if len(choices) > 1:
            return any(judged(choice) for choice in choices)
        parts = split(expression, "AND")
        if len(parts) > 1:
            return all(judged(part) for part in parts)
        identifier = re.sub(r"\s+WITH\s+.*$", "", expression)
        return spdx(identifier).lower() in wanted or identifier.lower() in wanted

    if judged(text):
        return "allowed", "%s is allowed" % text
    return "disallowed", "license %s is not in the allowed list" % text


def split(expression, word):
    """The parts of an expression joined by a word (OR, AND, or a ; and / between names) outside parentheses."""
    parts, depth, start = [], 0, 0
    tokens = list(re.finditer(r"\(|\)|\s%s\s|\s*/\s*|;\s*" % word if word == "OR" else r"\(|\)|\s%s\s" % word, expression))
    for token in tokens:
        value = token.group(0)
        if value == "(":
            depth += 1
        elif value == ")":
            depth -= 1
        elif depth == 0:
            parts.append(expression[start:token.start()])
            start = token.end()
    parts.append(expression[start:])
    return [part for part in (part.strip() for part in parts) if part]
