"""What the postgresql role's weekly run leaves behind: dead tuples gone where they were due, nothing else touched."""

import glob
import json
import os


def psql(host, db, query):
    return host.check_output("runuser -u postgres -- psql -X -At -d %s -c %s" % (db, "'%s'" % query.replace("'", "'\\''")))


def stats(host, db, table):
    schema, name = table.split(".")
    row = psql(host, db, "SELECT n_dead_tup, vacuum_count, analyze_count FROM pg_stat_user_tables"
                         " WHERE schemaname = '%s' AND relname = '%s'" % (schema, name))
    return dict(zip(("dead", "vacuums", "analyzes"), (int(value) for value in row.split("|"))))


def test_dead_tuples_of_the_bloated_tables_were_removed(host):
    for table in ("public.orders", "public.events"):
        after = stats(host, "app", table)
        assert after["dead"] == 0 and after["vacuums"] == 2, (table, after)
    assert psql(host, "app", "SELECT count(*) FROM orders") == "6000"
    assert psql(host, "app", "SELECT count(*) FROM events") == "20000"


def test_the_clean_table_the_excluded_schema_and_the_other_database_were_not_touched(host):
    assert stats(host, "app", "public.customers")["vacuums"] == 1
    audit = stats(host, "app", "audit.log")
    assert audit["vacuums"] == 1 and audit["dead"] == 10000
    other = stats(host, "other", "public.leftovers")
    assert other["vacuums"] == 1 and other["dead"] == 10000


def test_the_bloated_index_was_rebuilt_smaller_and_no_invalid_index_is_left(host):
    before = int(host.file("/var/tmp/index-size-before").content_string)
    after = int(psql(host, "app", "SELECT pg_relation_size('orders_updated_idx')"))
    assert after < before / 3, (before, after)
    assert psql(host, "app", "SELECT count(*) FROM pg_index WHERE NOT indisvalid") == "0"


def test_the_run_report_holds_the_findings_and_the_actions_of_each_host(host):
    reports = sorted(glob.glob(os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "reports", "weekly-*.json")))
    # The first report is the converge run's; the idempotence run wrote the second.
    with open(reports[0]) as handle:
        entries = [entry for entry in json.load(handle)["entries"] if entry["host"] == host.backend.get_hostname()]
    found = dict(((entry["check"], entry["target"]), entry["status"]) for entry in entries)
    assert found[("postgresql_health", "app")] == "ok"
    assert found[("postgresql_bloat", "app/public.orders")] == "warning"
    assert found[("postgresql_vacuum", "app/public.orders")] == "changed"
    assert found[("postgresql_reindex", "app/public.orders_updated_idx")] == "changed"
    assert not [target for check, target in found if target.startswith("app/audit.")]
