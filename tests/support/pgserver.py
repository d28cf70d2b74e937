"""A throwaway PostgreSQL server for the tests and the benchmarks: initdb and pg_ctl from the distribution's
packages, a data folder under /tmp, a unix socket in that folder and a free loopback port, password
authentication over TCP and trust on the socket. Runs as the ``postgres`` user when started by root."""

import contextlib
import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time

SUPERUSER = "postgres"
PASSWORD = "s3cret-for-tests"


def server_bin():
    """The folder of the newest installed server (or UPKEEP_PG_BIN)."""
    if os.environ.get("UPKEEP_PG_BIN"):
        return os.environ["UPKEEP_PG_BIN"]
    found = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if not found:
        raise RuntimeError("no PostgreSQL server installed: apt-get install postgresql (make test does)")
    newest = max(found, key=lambda path: int(re.search(r"/(\d+)/bin/", path).group(1)))
    return os.path.dirname(newest)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server(object):
    def __init__(self, settings=None):
        self.bin = server_bin()
        self.root = tempfile.mkdtemp(prefix="upkeep-pg-", dir="/tmp")
        self.data = os.path.join(self.root, "data")
        self.socket_dir = self.root
        self.port = free_port()
        self.settings = dict(settings or {})
        self.owner = pwd.getpwnam("postgres") if os.geteuid() == 0 else None

    def add_file(self, name, data, mode=0o600):
        """A file in the server's folder, owned by the server's user (keys must be, for ssl = on)."""
        path = os.path.join(self.root, name)
        with open(path, "wb") as handle:
            handle.write(data)
        os.chmod(path, mode)
        if self.owner:
            os.chown(path, self.owner.pw_uid, self.owner.pw_gid)
        return path

    def _run(self, *command, **kwargs):
        if self.owner:
            command = ("runuser", "-u", "postgres", "--") + command
        return subprocess.run(command, check=True, capture_output=True, text=True, **kwargs)

    def start(self):
        if self.owner:
            os.chown(self.root, self.owner.pw_uid, self.owner.pw_gid)
        password_file = os.path.join(self.root, "password")
        with open(password_file, "w") as handle:
            handle.write(PASSWORD + "\n")
        if self.owner:
            os.chown(password_file, self.owner.pw_uid, self.owner.pw_gid)
        self._run(os.path.join(self.bin, "initdb"), "-D", self.data, "-U", SUPERUSER, "--pwfile", password_file,
                  "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync", "-E", "UTF8", "--locale=C")
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": "'%s'" % self.socket_dir,
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            # Dead tuples stay where the tests put them until the modules remove them.
            "autovacuum": "off",
            "shared_buffers": "128MB",
            "max_connections": "40",
        }
        settings.update(self.settings)
        with open(os.path.join(self.data, "postgresql.auto.conf"), "a") as conf:
            conf.writelines("%s = %s\n" % item for item in settings.items())
        self._run(os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-l", os.path.join(self.root, "server.log"),
                  "-w", "-t", "60", "start")
        return self

    def stop(self):
        try:
            self._run(os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    @property
    def version(self):
        return int(os.path.basename(os.path.dirname(self.bin)))

    def login(self, db="postgres", tcp=True):
        """Module options that reach this server."""
        if tcp:
            return dict(login_host="127.0.0.1", login_port=self.port, login_user=SUPERUSER, login_password=PASSWORD, db=db)
        return dict(login_unix_socket=self.socket_dir, login_port=self.port, login_user=SUPERUSER, db=db)

    def connect(self, db="postgres"):
        import psycopg
        return psycopg.connect(host=self.socket_dir, port=self.port, user=SUPERUSER, dbname=db, autocommit=True)

    def sql(self, statement, db="postgres", params=None):
        with self.connect(db) as conn:
            cursor = conn.execute(statement, params)
            return cursor.fetchall() if cursor.description else None

    def create_database(self, name):
        self.sql('CREATE DATABASE "%s"' % name)
        return name

    def tool(self, name):
        return os.path.join(self.bin, name)

    def client_env(self):
        return dict(os.environ, PGHOST=self.socket_dir, PGPORT=str(self.port), PGUSER=SUPERUSER)


def make_bloated_table(conn, name, rows=20000, keep_fraction=0.1, schema="public"):
    """A table with an index whose rows were mostly deleted: dead tuples for VACUUM, a bloated index for REINDEX."""
    table = '"%s"."%s"' % (schema, name)
    conn.execute("CREATE TABLE %s (id bigint PRIMARY KEY, body text, updated int) WITH (autovacuum_enabled = false)" % table)
    conn.execute("CREATE INDEX ON %s (updated)" % table)
    conn.execute("INSERT INTO %s SELECT g, repeat('x', 80), g %% 1000 FROM generate_series(1, %d) g" % (table, rows))
    wait_for_statistics(conn, name, "n_tup_ins", rows, schema)
    conn.execute("ANALYZE %s" % table)
    deleted = conn.execute("DELETE FROM %s WHERE id %% 100 >= %d" % (table, int(keep_fraction * 100))).rowcount
    wait_for_statistics(conn, name, "n_dead_tup", deleted, schema)
    return table


def wait_for_statistics(conn, name, counter, count, schema="public", timeout=10):
    """A backend publishes its statistics when it goes idle, at most once a second unless forced:
    force it and wait until the counter of the table shows the rows."""
    deadline = time.monotonic() + timeout
    query = "SELECT %s FROM pg_stat_user_tables WHERE schemaname = %%s AND relname = %%s" % counter
    conn.execute("SELECT pg_stat_force_next_flush()")
    while True:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        if conn.execute(query, (schema, name)).fetchone()[0] >= count:
            return
        if time.monotonic() > deadline:
            raise RuntimeError("the statistics of %s.%s never showed %s >= %d" % (schema, name, counter, count))
        time.sleep(0.05)


def make_clean_table(conn, name, rows=2000, schema="public"):
    table = '"%s"."%s"' % (schema, name)
    conn.execute("CREATE TABLE %s (id bigint PRIMARY KEY, body text) WITH (autovacuum_enabled = false)" % table)
    conn.execute("INSERT INTO %s SELECT g, md5(g::text) FROM generate_series(1, %d) g" % (table, rows))
    conn.execute("VACUUM (ANALYZE, FREEZE) %s" % table)
    return table


def table_stats(conn, name, schema="public"):
    row = conn.execute(
        "SELECT n_dead_tup, vacuum_count, analyze_count, last_vacuum IS NOT NULL FROM pg_stat_user_tables"
        " WHERE schemaname = %s AND relname = %s", (schema, name)).fetchone()
    return dict(zip(("dead", "vacuum_count", "analyze_count", "vacuumed"), row))


@contextlib.contextmanager
def transaction_held(server, db, *statements):
    """Another session, as an application would hold it: inside a transaction that ran the statements,
    open until the block ends."""
    ready, release, failures = threading.Event(), threading.Event(), []

    def hold():
        try:
            with server.connect(db) as conn:
                with conn.transaction():
                    for statement in statements:
                        conn.execute(statement)
                    ready.set()
                    release.wait(60)
        except Exception as error:  # pylint: disable=broad-except
            # Raised again in the test's thread.
            failures.append(error)
            ready.set()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert ready.wait(10), "the holding session did not start"
        if failures:
            raise failures[0]
        yield
    finally:
        release.set()
        holder.join()
