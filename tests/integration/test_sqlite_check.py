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
