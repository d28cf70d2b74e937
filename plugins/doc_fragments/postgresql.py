# -*- coding: utf-8 -*-
# Copyright: upkeep.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


class ModuleDocFragment(object):

    # Options of every PostgreSQL module (module_utils._postgresql.POSTGRESQL_COMMON_ARGUMENT_SPEC).
    DOCUMENTATION = r"""
options:
  login_host:
    description:
      - Host name or address of the server. Empty means the default unix socket, unless O(login_unix_socket) is set.
    type: str
    default: ''
  login_port:
    description:
      - Port of the server (also names the socket file in a socket folder).
    type: int
    default: 5432
  login_user:
    description:
      - Role to connect as. Maintenance of a table needs its owner, a superuser or, on PostgreSQL 17 and newer,
        the C(pg_maintain) role.
    type: str
    default: postgres
  login_password:
    description:
      - Password of O(login_user). Never logged. Empty means none (peer or trust authentication, or a C(.pgpass) file).
    type: str
    default: ''
  login_unix_socket:
    description:
      - Folder of the server's unix socket, for example C(/var/run/postgresql). Takes precedence over O(login_host).
    type: str
    default: ''
  db:
    description:
      - Database to work on.
    type: str
    default: postgres
    aliases: [login_db]
  ssl_mode:
    description:
      - libpq's C(sslmode) for the connection.
    type: str
    choices: [allow, disable, prefer, require, verify-ca, verify-full]
    default: prefer
  ca_cert:
    description:
      - CA certificates file that the server's certificate must chain to (libpq's C(sslrootcert)),
        used with O(ssl_mode=verify-ca) or O(ssl_mode=verify-full).
    type: path
    aliases: [ssl_rootcert]
  connect_timeout:
    description:
      - Seconds to wait for the connection before failing.
    type: int
    default: 10
requirements:
  - Python 3.9 or newer on the managed host.
  - C(psycopg) (version 3) or C(psycopg2) on the managed host, for example Debian's C(python3-psycopg2) package.
notes:
  - The modules report their findings in the collection's results contract as RV(ignore:upkeep_results);
    see C(docs/results.md) in the collection.
  - Table and index names are given as C(schema.name) or C(name), matched exactly as stored (no quotes, case-sensitive);
    a name without a schema is looked up along the connection's search path. Names that do not exist fail the task
    before anything runs.
"""

    # Limits of the modules that change something (module_utils._postgresql.TIMEOUT_ARGUMENT_SPEC).
    TIMEOUTS = r"""
options:
  lock_timeout:
    description:
      - Session C(lock_timeout) of the maintenance connections, in PostgreSQL's units (V(5s), V(500ms), V(0) for none).
      - A maintenance statement that waits longer for a lock gives up, so that the application's queries never queue
        behind it; the relation is reported as skipped and the next run tries again.
    type: str
    default: 5s
  statement_timeout:
    description:
      - Session C(statement_timeout) of the maintenance connections (V(0) for none).
      - A statement cancelled by it is reported as skipped.
    type: str
    default: '0'
"""

    # Which schemas automatic selection looks at (module_utils._postgresql.SCHEMA_ARGUMENT_SPEC).
    SCHEMAS = r"""
options:
  schemas:
    description:
      - Only consider relations in these schemas. Empty means every schema except the system ones.
    type: list
    elements: str
    default: []
  exclude_schemas:
    description:
      - Never consider relations in these schemas.
    type: list
    elements: str
    default: []
"""
