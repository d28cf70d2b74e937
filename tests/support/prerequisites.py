"""What the Makefile installs and starts for the tests (a Docker engine, Compose, the German locale, promtool): on a
machine without it a test skips, saying what provides it; under `make test`, which provides it
(UPKEEP_PREREQUISITES=required), a missing one fails the test instead, so that no check is quietly left out."""

import os

import pytest


def missing(what):
    if os.environ.get("UPKEEP_PREREQUISITES") == "required":
        pytest.fail("%s, although make provides it" % what, pytrace=False)
    pytest.skip(what)
