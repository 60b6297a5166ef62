"""The suite does not depend on the day it runs: the date-heavy suites pass years apart.

Main went red on 2026-12-04 because tests compared fixed dates with the wall clock. Every date a
test compares with "today" now comes from ``TEST_TODAY`` (and the product's clock set to it);
this runs the meetings and covenant suites on days years before and after the covenants'
real periods, in a child pytest on SQLite.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SUITES = ["tests/meetings", "tests/policy", "tests/identity/test_reidentification_api.py"]


@pytest.mark.parametrize("day", ["2024-01-01", "2031-01-01"])
def test_the_meetings_and_covenant_suites_pass_on_another_day(day: str) -> None:
    env = {**os.environ, "KETENPOORT_TEST_TODAY": day, "KETENPOORT_TEST_BACKENDS": "sqlite"}
    result = subprocess.run(  # noqa: S603  # our own test suite, with this interpreter
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", *SUITES,
         # The Rego tests name their own days; evaluating them takes regopy ~9 GiB, which
         # the suite around this test cannot spare a second time.
         "--ignore=tests/policy/test_rego_tests.py"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout.splitlines()[-1]
