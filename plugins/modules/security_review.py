#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: security_review
short_description: A host's monthly security review - open permissions, exposed secrets files, placeholder secrets, failed logins
version_added: 0.1.0
description:
  - Finds world-writable files and folders (folders with the sticky bit, such as C(/tmp), excepted) under O(world_writable_roots).
  - Checks that the files of O(private_files) (databases, C(.env) files, keys) are no more open than their mode allows
    and belong to their owner; with O(fix_permissions), takes the extra permission bits away and sets the owner.
  - Reads the C(KEY=VALUE) files of O(env_files) and reports keys whose value is a placeholder (such as C(CHANGE_ME))
    or, for keys that name a secret (password, secret, token, key), empty. Only key names are reported, never a value.
  - Counts failed logins over O(window) in the authentication log, by source address.
author:
  - upkeep.maintenance contributors (@upkeep)
extends_documentation_fragment:
  - upkeep.maintenance.attributes
  - upkeep.maintenance.attributes.PLATFORM
attributes:
  check_mode:
    support: full
    details:
      - In check mode nothing is fixed; the files that would be are listed.
  diff_mode:
    support: none
options:
  world_writable_roots:
    description: Folders searched for world-writable files and folders, without following links or leaving their file system.
    type: list
    elements: path
    default: []
  private_files:
    description:
      - Files (globs allowed) that must stay private, each a path or a dict with C(path), C(mode) (the most open mode
        allowed, default V(0600)) and C(owner).
    type: list
    elements: raw
    default: []
  fix_permissions:
    description:
      - Take away permission bits beyond each private file's mode, and set its owner.
      - A private file that is a symbolic link is judged by its target's mode but never fixed through the link (a
        link planted where a private file was expected would hand this chmod to any file of the host); it is
        reported with the link, and its target is fixed when it is listed by its own name.
    type: bool
    default: false
  env_files:
    description: Environment files (globs allowed) with C(KEY=VALUE) lines.
    type: list
    elements: path
    default: []
  placeholders:
    description: Values that mean a secret was never set (compared without case).
    type: list
    elements: str
    default: [CHANGE_ME, CHANGEME, change-me, changeit, your-secret-here, secret, password, 'xxx', todo]
  placeholder_patterns:
    description:
      - Regular expressions (matched without case, from the value's start) of values that mean a secret was never
        set, besides O(placeholders). The defaults catch C(CHANGE_ME_DB_PASSWORD), C(replace-me), C(xxxxxx),
        C(your-api-key-here), C(<password>) and C(TODO).
    type: list
    elements: str
    default: ['^change[_-]?me', '^replace[_-]?me', '^x{3,}$', '^your[_-].*[_-]here$', '^<[^<>]*>$', '^(todo|tbd|fixme)$']
  secret_keys:
    description: Regular expression of key names whose empty value is a finding.
    type: str
    default: '(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY)'
  auth_log:
    description: The authentication log; V(/var/log/auth.log) or V(/var/log/secure), whichever exists, by default.
    type: path
  window:
    description: How far back failed logins count (V(24h), V(7d)).
    type: str
    default: 24h
  failed_logins_warning:
    description: More failed logins than this in the window, in all the logs together, is a warning.
    type: int
    default: 20
  login_logs:
    description:
      - Application logs whose failed logins count as well, together with the authentication log's against
        O(failed_logins_warning).
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: The log file, or a glob.
        type: path
        required: true
      pattern:
        description:
          - Regular expression (case-insensitive) of a failed login line; by default lines where login, sign-in or
            auth meet failed, invalid, denied or rejected (V(login failed for user bob from 203.0.113.9)).
        type: str
  max_listed:
    description: At most this many world-writable paths are listed.
    type: int
    default: 50
"""

EXAMPLES = r"""
- name: Monthly review of an application host
  upkeep.maintenance.security_review:
    world_writable_roots: [/srv/app, /etc]
    private_files:
      - /srv/app/.env
      - path: /srv/app/data/*.db
        mode: "0640"
        owner: app
      - /etc/ssl/private/*.key
    env_files: [/srv/app/.env]
"""

RETURN = r"""
world_writable:
  description: World-writable paths found, at most O(max_listed), with C(world_writable_count) for all of them.
  returned: always
  type: list
  elements: str
world_writable_count:
  description: How many were found.
  returned: always
  type: int
private_files:
  description: Each private file with C(path), C(mode), C(owner), C(allowed_mode), C(status), C(fixed), C(problems)
    and C(link) (the target of a symbolic link, or null).
  returned: always
  type: list
  elements: dict
placeholders:
  description: Each finding in an environment file with C(file), C(line), C(key) and C(problem) (never the value).
  returned: always
  type: list
  elements: dict
failed_logins:
  description: C(log), C(count) in the window and C(sources) (address and count, most first) of the authentication
    log, and C(applications), the same for each application log of O(login_logs).
  returned: always
  type: dict
upkeep_results:
  description: One V(security_review) entry, then one per finding (V(security_world_writable), V(security_private_file),
    V(security_placeholder), V(security_failed_logins)).
  returned: always
  type: list
  elements: dict
"""

import os
import pwd
import re
import stat
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.upkeep.maintenance.plugins.module_utils._files import change_mode_here, expand_glob, open_regular, parse_mode
from ansible_collections.upkeep.maintenance.plugins.module_utils._logs import line_time
from ansible_collections.upkeep.maintenance.plugins.module_utils._results import result_entry
from ansible_collections.upkeep.maintenance.plugins.module_utils._units import human_duration, parse_duration, plural

FAILED_LOGIN = re.compile(r"(Failed password|authentication failure|Invalid user|FAILED LOGIN)", re.I)
# An application's own log says it in its words: "login failed", "authentication failure", "invalid password".
APPLICATION_FAILED_LOGIN = re.compile(
    r"\b(?:log ?in|sign ?in|auth\w*)\b.{0,40}\b(?:fail\w*|invalid|denied|rejected)\b"
    r"|\b(?:fail\w*|invalid|denied|rejected)\b.{0,40}\b(?:log ?in|sign ?in|auth\w*|password|credentials)\b")
ADDRESS = re.compile(r"(?:\bfrom|rhost=|\b(?:ip|client|client_ip|remote_addr|remote_ip)\"? ?[=:]) ?\"?([0-9a-fA-F:.]*[0-9a-fA-F])")
# Values that stand for a secret nobody set, as templates and runbooks write them: CHANGE_ME_DB_PASSWORD,
# replace-me, xxxxxx, your-api-key-here, <password>, TODO.
PLACEHOLDER_PATTERNS = (r"^change[_-]?me", r"^replace[_-]?me", r"^x{3,}$", r"^your[_-].*[_-]here$", r"^<[^<>]*>$",
                        r"^(todo|tbd|fixme)$")
ENV_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def env_assignment(line):
    """(key, value) of a C(KEY=VALUE) or C(export KEY=VALUE) line, the value without its quotes; None for comments
    and anything else. String operations only: a regular expression with a lazy value and trailing blanks takes
    quadratic time on a line of blanks."""
    text = line.strip()
    if text.startswith("#") or "=" not in text:
        return None
    key, _sep, value = text.partition("=")
    key = key.strip()
    if key.startswith("export") and key[6:7].isspace():
        key = key[6:].strip()
    if not ENV_KEY.match(key):
        return None
    return key, value.strip().strip("'\"")


def same_device(path, device):
    """Whether path is on that file system; a folder gone since it was listed is not."""
    try:
        return os.lstat(path).st_dev == device
    except OSError:
        return False


class Review(object):
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.findings = []

    def finding(self, check, target, status, summary, **metrics):
        self.findings.append(result_entry(check, target, status, summary, metrics=metrics))

    def world_writable(self):
        found = []
        for root in self.params["world_writable_roots"]:
            device = os.lstat(root).st_dev if os.path.exists(root) else None
            for folder, folders, files in os.walk(root):
                folders[:] = [name for name in folders if same_device(os.path.join(folder, name), device)]
                for name in folders + files:
                    path = os.path.join(folder, name)
                    try:
                        info = os.lstat(path)
                    except OSError:  # gone since the folder was listed
                        continue
                    if stat.S_ISLNK(info.st_mode) or not info.st_mode & stat.S_IWOTH:
                        continue
                    if stat.S_ISDIR(info.st_mode) and info.st_mode & stat.S_ISVTX:
                        continue
                    found.append(path)
        if found:
            self.finding("security_world_writable", ", ".join(self.params["world_writable_roots"]), "warning",
                         "%s, such as %s" % (plural(len(found), "world-writable path"), ", ".join(found[:3])),
                         world_writable=len(found))
        return found

    def private_files(self):
        results = []
        for spec in self.params["private_files"]:
            spec = spec if isinstance(spec, dict) else dict(path=spec)
            allowed = parse_mode(spec.get("mode", "0600"))
            for path in expand_glob(spec["path"]):
                if not os.path.lexists(path):
                    continue
                results.append(self.private_file(path, allowed, spec.get("owner")))
        return results

    def private_file(self, path, allowed, owner):
        """A private file judged by its own mode, or by its target's when it is a symbolic link; fixed only when it
        is not a link, and then through a descriptor opened without following links."""
        link = os.readlink(path) if os.path.islink(path) else None
        try:
            info = os.stat(path)
        except OSError as error:
            self.finding("security_private_file", path, "failed", "cannot read its mode: %s" % (error.strerror or error))
            return dict(path=path, status="failed", fixed=False, problems=[], link=link)
        mode = stat.S_IMODE(info.st_mode)
        try:
            current_owner = pwd.getpwuid(info.st_uid).pw_name
        except KeyError:
            current_owner = str(info.st_uid)
        problems = []
        if mode & ~allowed:
            problems.append("mode %04o is more open than %04o" % (mode, allowed))
        if owner and owner != current_owner:
            problems.append("owned by %s, not %s" % (current_owner, owner))
        fixed = False
        if problems and self.params["fix_permissions"]:
            if link is not None:
                problems.append("not fixed: it is a symbolic link to %s, whose target is fixed by its own name only" % link)
            elif self.module.check_mode:
                fixed = True
            else:
                try:
                    change_mode_here(path, mode & allowed, pwd.getpwnam(owner).pw_uid if owner and owner != current_owner else -1)
                    fixed = True
                except (OSError, KeyError) as error:
                    problems.append("not fixed: %s" % (getattr(error, "strerror", None) or error))
        status = "ok" if not problems else "changed" if fixed else "critical" if mode & stat.S_IROTH else "warning"
        result = dict(path=path, mode="%04o" % mode, owner=current_owner, allowed_mode="%04o" % allowed, status=status,
                      fixed=fixed, problems=problems, link=link)
        if problems:
            self.finding("security_private_file", path, status, "%s%s" % (
                "; ".join(problems), " (fixed)" if fixed and not self.module.check_mode else
                " (would be fixed)" if fixed else ""))
        return result

    def placeholders(self):
        wanted = set(value.lower() for value in self.params["placeholders"])
        patterns = [re.compile(pattern, re.I) for pattern in self.params["placeholder_patterns"]]
        secret_key = re.compile(self.params["secret_keys"], re.I)
        results = []
        for pattern in self.params["env_files"]:
            for path in expand_glob(pattern):
                try:
                    with open_regular(path) as handle:
                        lines = [line.decode("utf-8", "replace") for line in handle]
                except (IOError, OSError) as error:
                    self.finding("security_placeholder", path, "failed", "cannot read it: %s" % error.strerror)
                    continue
                for number, line in enumerate(lines, 1):
                    assignment = env_assignment(line)
                    if assignment is None:
                        continue
                    key, value = assignment
                    if value.lower() in wanted or any(pattern.search(value) for pattern in patterns):
                        problem = "placeholder value"
                    elif not value and secret_key.search(key):
                        problem = "empty secret"
                    else:
                        continue
                    results.append(dict(file=path, line=number, key=key, problem=problem))
                    self.finding("security_placeholder", "%s:%s" % (path, key), "critical",
                                 "line %d: %s has a %s" % (number, key, problem))
        return results

    def failed_logins(self, window):
        """The authentication log's failed logins, then each application log's; one finding when all of them together
        pass the threshold, as an attack spread over the SSH daemon and an application is still one attack."""
        log = self.params["auth_log"] or next(
            (candidate for candidate in ("/var/log/auth.log", "/var/log/secure") if os.path.exists(candidate)), None)
        found = self.count_failed_logins(log, FAILED_LOGIN, window) if log and os.path.exists(log) else dict(
            log=log, count=None, sources=[])
        found["applications"] = []
        for spec in self.params["login_logs"]:
            pattern = re.compile(spec["pattern"] or APPLICATION_FAILED_LOGIN.pattern, re.I)
            for path in expand_glob(spec["path"]):
                try:
                    found["applications"].append(self.count_failed_logins(path, pattern, window))
                except OSError as error:
                    self.finding("security_failed_logins", path, "failed", "cannot read the log: %s" % (
                        error.strerror or error))
        counted = [log for log in [found] + found["applications"] if log["count"] is not None]
        total = sum(log["count"] for log in counted)
        if total > self.params["failed_logins_warning"]:
            sources = {}
            for log in counted:
                for source in log["all_sources"]:
                    sources[source["address"]] = sources.get(source["address"], 0) + source["count"]
            ranked = sorted(sources.items(), key=lambda item: (-item[1], item[0]))
            self.finding("security_failed_logins", ", ".join(log["log"] for log in counted), "warning",
                         "%d failed logins in %s, most from %s%s" % (
                             total, human_duration(window), ", ".join("%s (%d)" % source for source in ranked[:3]),
                             "; %s" % ", ".join("%s %d" % (os.path.basename(log["log"]), log["count"]) for log in counted)
                             if len(counted) > 1 else ""),
                         failed_logins=total)
        for log in counted:
            del log["all_sources"]
        return found

    def count_failed_logins(self, log, pattern, window):
        now = time.time()
        since = now - window
        sources = {}
        count = 0
        with open_regular(log) as handle:
            for raw in handle:
                line = raw.decode("utf-8", "replace")
                if not pattern.search(line):
                    continue
                moment = line_time(line, now)
                if moment is None or moment < since:
                    continue
                count += 1
                address = ADDRESS.search(line)
                key = address.group(1) if address else "unknown"
                sources[key] = sources.get(key, 0) + 1
        ranked = [dict(address=address, count=total) for address, total in
                  sorted(sources.items(), key=lambda item: (-item[1], item[0]))]
        return dict(log=log, count=count, sources=ranked[:20], all_sources=ranked)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            world_writable_roots=dict(type="list", elements="path", default=[]),
            private_files=dict(type="list", elements="raw", default=[]),
            fix_permissions=dict(type="bool", default=False),
            env_files=dict(type="list", elements="path", default=[]),
            placeholders=dict(type="list", elements="str", no_log=False,
                              default=["CHANGE_ME", "CHANGEME", "change-me", "changeit", "your-secret-here", "secret",
                                       "password", "xxx", "todo"]),
            placeholder_patterns=dict(type="list", elements="str", no_log=False, default=list(PLACEHOLDER_PATTERNS)),
            secret_keys=dict(type="str", no_log=False, default="(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY)"),
            auth_log=dict(type="path"),
            window=dict(type="str", default="24h"),
            failed_logins_warning=dict(type="int", default=20),
            login_logs=dict(type="list", elements="dict", default=[], options=dict(
                path=dict(type="path", required=True), pattern=dict(type="str"))),
            max_listed=dict(type="int", default=50),
        ),
        supports_check_mode=True)
    try:
        window = parse_duration(module.params["window"])
        re.compile(module.params["secret_keys"])
        login_patterns = [spec["pattern"] for spec in module.params["login_logs"] if spec["pattern"]]
        for pattern in module.params["placeholder_patterns"] + login_patterns:
            re.compile(pattern)
    except (ValueError, re.error) as error:
        module.fail_json(msg=str(error))
    for spec in module.params["private_files"]:
        if isinstance(spec, dict) and not spec.get("path"):
            module.fail_json(msg="every private file needs a path: %r" % (spec,))
        try:
            parse_mode(spec.get("mode", "0600") if isinstance(spec, dict) else "0600")
        except ValueError as error:
            module.fail_json(msg="private file %s: %s" % (spec["path"], error))

    review = Review(module)
    world_writable = review.world_writable()
    private = review.private_files()
    placeholders = review.placeholders()
    logins = review.failed_logins(window)
    fixed = [result["path"] for result in private if result["fixed"]]
    # The authentication log's count (None without one) and each application log's.
    counted = [found["count"] for found in [logins] + logins["applications"] if found["count"] is not None]
    summary = "%d world-writable paths, %d of %d private files too open%s, %d placeholder secrets, %s failed logins" % (
        len(world_writable), sum(1 for result in private if result["problems"]), len(private),
        " (%d fixed)" % len(fixed) if fixed else "", len(placeholders), sum(counted) if counted else "no log of")
    overview = result_entry("security_review", "host", "ok", summary, metrics=dict(
        world_writable=len(world_writable), private_files_open=sum(1 for result in private if result["problems"]),
        placeholders=len(placeholders), failed_logins=sum(counted)))
    module.exit_json(changed=bool(fixed), msg=summary, world_writable=world_writable[:module.params["max_listed"]],
                     world_writable_count=len(world_writable), private_files=private, placeholders=placeholders,
                     failed_logins=logins, upkeep_results=[overview] + review.findings)


if __name__ == "__main__":
    main()
