"""A bounded schemathesis run over the whole API with a RIEC and a municipality token.

Each operation gets a few generated requests, valid and invalid, for each of the two partners;
every answer must be no server error, a status the OpenAPI document declares for the
operation, of the declared content type and matching the declared schema. (Whether every
schema-valid request is also accepted is not checked: the document states shapes, and some
rules, a non-empty string or a known partner, only the services know.)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from gateway.settings import Settings
from tests.factories import RIEC, VLAARDINGEN, bearer

# The suite replays the same few examples every run (a red CI run is then reproducible);
# KETENPOORT_FUZZ_EXAMPLES=N runs a longer, random campaign.
CAMPAIGN = os.environ.get("KETENPOORT_FUZZ_EXAMPLES")
EXAMPLES_PER_OPERATION = int(CAMPAIGN) if CAMPAIGN else 5
SCOPES = ("exchange:write", "inbox:read", "audit:own", "reidentify", "linkage:read",
          "linkage:write", "case:write", "case:read", "meeting:admin", "meeting:read")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@pytest.fixture
def settings(tmp_path: Path, test_policies_path: Path) -> Settings:
    # No sequencer runs here: a run longer than the allowed sealing lag would answer 503.
    return Settings(instance_path=tmp_path / "instance", policies_path=test_policies_path,
                    audit_max_lag_seconds=86_400)


@pytest.fixture
def api_schema(gateway_app: Flask) -> Any:
    loaded = schemathesis.openapi.from_wsgi("/openapi.json", gateway_app)
    # The generated examples only: the coverage phase's exhaustive boundary cases would take
    # minutes per backend, past what the suite may spend here.
    loaded.config.phases.coverage.enabled = False
    return loaded


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@hypothesis_settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None,
                     derandomize=CAMPAIGN is None, suppress_health_check=list(HealthCheck))
def test_no_server_error_and_nothing_undocumented(case: Any, gateway_app: Flask) -> None:
    for partner in (RIEC, VLAARDINGEN):
        case.call_and_validate(headers=bearer(gateway_app, partner, SCOPES), checks=CHECKS)
