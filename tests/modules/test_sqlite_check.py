"""sqlite_check against real database files."""

import os

import pytest


def test_healthy_database_reports_sizes_rows_and_queries(run_module, make_estate, tmp_path):
    db = make_estate.make_bloated(str(tmp_path / "app.db"), rows=8000, keep_fraction=0.5)
    before = make_estate.sha256(db)

    result = run_module("sqlite_check", path=db, row_counts=True, queries=[
        dict(name="rows", sql="SELECT count(*) FROM items", min=1000),
        dict(name="duplicates", sql="SELECT count(*) - count(DISTINCT id) FROM items", max=0, severity="critical"),
    ])

    assert result["rc"] == 0 and result["changed"] is False
    assert result["integrity"] == "ok" and result["integrity_errors"] == []
    assert result["size"] == os.path.getsize(db)
    assert result["page_count"] * result["page_size"] == result["size"]
    assert 0.3 < result["freelist_ratio"] < 0.7
    assert result["vacuum_due"] is True
    assert result["tables"] == {"items": 4000}
    assert [(query["name"], query["value"], query["status"]) for query in result["queries"]] == [
        ("rows", 4000, "ok"), ("duplicates", 0, "ok")]
    assert [entry["check"] for entry in result["upkeep_results"]] == ["sqlite_integrity", "sqlite_query", "sqlite_query"]
    assert "VACUUM due" in result["upkeep_results"][0]["summary"]
    assert make_estate.sha256(db) == before


def test_query_out_of_bounds_is_reported_with_its_severity(run_module, make_estate, tmp_path):
    db = make_estate.make_database(str(tmp_path / "app.db"), rows=10)
    queries = [dict(name="enough rows", sql="SELECT count(*) FROM items", min=100, severity="critical"),
               dict(name="broken", sql="SELECT count(*) FROM missing_table")]

    reported = run_module("sqlite_check", path=db, queries=queries, fail_on="never")
    assert reported["rc"] == 0
    assert [query["status"] for query in reported["queries"]] == ["critical", "failed"]
    assert "no such table" in reported["queries"][1]["message"]
    assert reported["status"] == "failed"

    failing = run_module("sqlite_check", path=db, queries=queries[:1])
    assert failing["failed"] is True
    assert "enough rows = 10 (min 100)" in failing["msg"]


def test_queries_cannot_write(run_module, make_estate, tmp_path):
    db = make_estate.make_database(str(tmp_path / "app.db"), rows=10)
    before = make_estate.sha256(db)
    result = run_module("sqlite_check", path=db, fail_on="never",
                        queries=[dict(name="sneaky", sql="DELETE FROM items RETURNING 1")])
    assert result["queries"][0]["status"] == "failed"
    assert make_estate.sha256(db) == before


def test_corrupt_database_fails_with_sqlite_messages_unless_reporting(run_module, make_estate, tmp_path):
    db = make_estate.corrupt(make_estate.make_database(str(tmp_path / "app.db"), rows=3000), page=3)

    failed = run_module("sqlite_check", path=db)
    assert failed["failed"] is True
    assert failed["integrity"] == "corrupt"
    assert failed["integrity_errors"]
    assert "database is corrupt" in failed["msg"]

    reported = run_module("sqlite_check", path=db, fail_on="never")
    assert reported["rc"] == 0
    assert reported["status"] == "critical"
    assert reported["upkeep_results"][0]["status"] == "critical"


def test_not_a_database_is_reported_as_corrupt(run_module, make_estate, tmp_path):
    path = make_estate.make_not_database(str(tmp_path / "notes.db"))
    result = run_module("sqlite_check", path=path, fail_on="never")
    assert result["integrity"] == "corrupt"
    assert "file is not a database" in result["integrity_errors"][0]


@pytest.mark.parametrize("kind, expected", [("missing", "no such file"), ("folder", "is a folder")])
def test_missing_file_and_folder_fail_clearly(run_module, tmp_path, kind, expected):
    path = tmp_path / "app.db"
    if kind == "folder":
        path.mkdir()
    result = run_module("sqlite_check", path=str(path), fail_on="never")
    assert result["failed"] is True
    assert expected in result["msg"]
    assert kind != "missing" or not path.exists()


def test_several_databases_in_one_call_each_with_its_own_settings(run_module, make_estate, tmp_path):
    bloated = make_estate.make_bloated(str(tmp_path / "app.db"), rows=8000, keep_fraction=0.5)
    healthy = make_estate.make_database(str(tmp_path / "events.db"), rows=500)
    corrupt = make_estate.corrupt(make_estate.make_database(str(tmp_path / "inventory.db"), rows=3000), page=3)
    missing = str(tmp_path / "gone.db")

    result = run_module("sqlite_check", fail_on="never", min_freelist_ratio=0.99, databases=[
        dict(path=bloated, min_freelist_ratio=0.1, row_counts=True),
        dict(path=healthy, queries=[dict(name="events", sql="SELECT count(*) FROM items", min=1000)]),
        dict(path=corrupt),
        dict(path=missing),
    ])

    assert result["rc"] == 0
    app, events, inventory, gone = result["databases"]
    assert app["path"] == bloated and app["vacuum_due"] is True and app["tables"] == {"items": 4000}
    # The module's own threshold applies to the database that sets none.
    assert events["vacuum_due"] is False and events["queries"][0]["status"] == "warning"
    assert inventory["integrity"] == "corrupt"
    assert gone == dict(path=missing, integrity="error", error="%s: no such file" % missing, vacuum_due=False)
    assert [(entry["target"], entry["status"]) for entry in result["upkeep_results"]] == [
        (bloated, "ok"), (healthy, "ok"), (healthy + ":events", "warning"), (corrupt, "critical"), (missing, "failed")]
    assert result["status"] == "failed" and result["msg"] == "4 databases checked, worst status failed"

    failing = run_module("sqlite_check", databases=[dict(path=healthy), dict(path=corrupt)])
    assert failing["rc"] != 0 and failing["msg"].startswith("%s: database is corrupt" % corrupt)


def test_a_database_or_a_list_but_not_both(run_module, tmp_path):
    both = run_module("sqlite_check", path=str(tmp_path / "a.db"), databases=[dict(path=str(tmp_path / "b.db"))])
    assert both["rc"] != 0 and "mutually exclusive" in both["msg"]
    typo = run_module("sqlite_check", databases=[dict(path=str(tmp_path / "b.db"), min_freelist_ration=0.2)])
    assert typo["rc"] != 0 and "min_freelist_ration" in typo["msg"]
