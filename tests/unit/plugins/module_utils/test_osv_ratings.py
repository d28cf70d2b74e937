"""How an advisory is rated: the database's own rating, else its CVSS v3 vector, else its CVSS v4.0 vector, checked
on a real GitHub advisory (body-parser, GHSA-qwcr-r2fm-qrc7: GitHub rates it high, its v3 vector scores 7.5 and its v4
vector 8.7) and on v4.0 vectors with the scores FIRST's calculator gives them."""

import json
import os

import pytest

from ansible_collections.upkeep.maintenance.plugins.module_utils import _osv
from collection import ROOT  # tests/support/collection.py

ADVISORY = os.path.join(ROOT, "tests", "fixtures", "advisories", "npm",
                        "GHSA-qwcr-r2fm-qrc7.json")


@pytest.fixture
def advisory():
    with open(ADVISORY) as handle:
        return json.load(handle)


def vectors(advisory, kind):
    return [severity for severity in advisory["severity"] if severity["type"] == kind]


def test_the_database_rating_comes_first_then_the_v3_vector_then_the_v4_one(advisory):
    assert _osv.rating(advisory) == ("high", "database")
    del advisory["database_specific"]["severity"]
    assert _osv.rating(advisory) == ("high", "CVSS 7.5")
    advisory["severity"] = vectors(advisory, "CVSS_V4")
    assert _osv.rating(advisory) == ("high", "CVSS 8.7 (v4)")


@pytest.mark.parametrize("vector, score", [
    ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 9.3),
    ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H", 10.0),
    ("CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 8.5),
    ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N", 8.7),
    ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N", 0.0),
])
def test_v4_vectors_score_as_firsts_calculator_scores_them(vector, score):
    assert _osv.cvss4_score(vector) == score


def test_a_v4_vector_that_does_not_read_leaves_the_advisory_unrated(advisory):
    del advisory["database_specific"]["severity"]
    advisory["severity"] = [dict(type="CVSS_V4", score="CVSS:4.0/AV:X")]
    assert _osv.rating(advisory) == (None, None)


def test_without_the_cvss_package_a_v4_only_advisory_is_unrated_and_says_what_to_install(advisory, monkeypatch):
    del advisory["database_specific"]["severity"]
    advisory["severity"] = vectors(advisory, "CVSS_V4")
    monkeypatch.setattr(_osv, "CVSS4", None)
    level, source = _osv.rating(advisory)
    assert level is None and source.endswith("not scored: CVSS v4 vectors are scored with the cvss package: "
                                             "pip install cvss on the controller")
    group = dict(names={advisory["id"]}, matches=[(advisory, advisory["affected"][0], None)])
    found = _osv.finding(group, _osv.NPM, "1.20.2")
    assert found["severity"] == "unknown" and found["severity_source"] == source and found["fixed"] == "1.20.3"
