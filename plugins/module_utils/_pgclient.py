# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""PostgreSQL's client programs (pg_dump, pg_restore, psql, pg_repack) for the backup and PostgreSQL modules: found on
this host, or run inside the database's container."""

import os
import shutil
import subprocess

from ansible_collections.upkeep.maintenance.plugins.module_utils._files import FormatError


def pg_command(name):
    """A PostgreSQL client program: on the PATH, else from the newest server version installed."""
    command = shutil.which(name)
    if command:
        return command
    root = "/usr/lib/postgresql"
    versions = sorted((version for version in (os.listdir(root) if os.path.isdir(root) else []) if version.isdigit()), key=int)
    candidates = [os.path.join(root, version, "bin", name) for version in versions]
    candidates = [candidate for candidate in candidates if os.path.exists(candidate)]
    if not candidates:
        raise FormatError("%s is needed: install the postgresql-client package" % name)
    return candidates[-1]


class PgClient(object):
    """PostgreSQL's client programs, on this host or, for a server in Docker without a client on the host, inside
    the database's container (docker exec): the connection settings travel as environment variables (their names
    only on the command line, never the password)."""

    def __init__(self, environment, container=None, docker="docker", variables=()):
        self.environment = environment
        self.container = container
        self.docker = docker
        self.variables = [name for name in variables if name in environment]

    def command(self, program, *arguments):
        if not self.container:
            return [pg_command(program)] + list(arguments)
        names = self.variables
        return [self.docker, "exec", "--interactive"] + [part for name in names for part in ("--env", name)] + \
            [self.container, program] + list(arguments)

    def run(self, program, arguments, source=None, output=None):
        """(exit status, standard output or "", standard error) of a program fed the file source, if any."""
        stdin = open(source, "rb") if source else subprocess.DEVNULL
        try:
            process = subprocess.run(self.command(program, *arguments), stdin=stdin,
                                     stdout=output if output is not None else subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=self.environment, check=False)
        finally:
            if source:
                stdin.close()
        return process.returncode, text_of(process.stdout), text_of(process.stderr)


def text_of(data):
    return (data or b"").decode("utf-8", "replace")


def last_line_of(text):
    return (text.strip().splitlines() or ["no message"])[-1]
