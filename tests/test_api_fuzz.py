"""A bounded schemathesis run over the whole API with a RIEC and a municipality token.

Each operation gets a few generated requests, valid and invalid, for each of the two partners;
every answer must be no server error, a status the OpenAPI document declares for the
operation, of the declared content type and matching the declared schema. A request the
schema calls valid must also not be refused as malformed (no 400 or 422: schemathesis'
``positive_data_acceptance``), except on the operations in ``RULES_BEYOND_THE_SCHEMA``, whose
validity depends on data the document cannot state.
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
    positive_data_acceptance,
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
#: Operations where a schema-valid request can still be a 422, and why.
RULES_BEYOND_THE_SCHEMA = {
    "POST /v1/exchanges": "the covenant's purposes, categories and parties are data",
    "GET /v1/inbox": "a cursor must be one the inbox issued",
    "GET /v1/cases": "a cursor must be one the work list issued",
    "POST /v1/cases/{case_id}/assignments": "persons must be pseudonyms the caller was given",
    "POST /v1/cases/{case_id}/assignments/{assignment_id}/decision":
        "the planned end may not precede the planned start",
    "POST /v1/meetings/{meeting_id}/items/{item_id}/outcome":
        "persons must be pseudonyms the caller was given",
    "GET /v1/audit/consistency-proof": "tree sizes must be within the log",
    "GET /v1/audit/events": "cursors the API issued; dates with a UTC offset",
    "POST /v1/audit/events/search": "as GET /v1/audit/events",
    "POST /v1/cases": "signals and pseudonyms must be in the caller's inbox",
    "POST /v1/meetings": "the covenant and participants must be registered",
    "POST /v1/reidentifications": "the reason's minimum length is a setting",
    "POST /v1/audit/subject-access": "the verification copy is JSON only",
}


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
    checks = CHECKS if case.operation.label in RULES_BEYOND_THE_SCHEMA else [
        *CHECKS, positive_data_acceptance]
    for partner in (RIEC, VLAARDINGEN):
        case.call_and_validate(headers=bearer(gateway_app, partner, SCOPES), checks=checks)
