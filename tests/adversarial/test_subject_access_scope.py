"""Attacks on the subject access report's scope: a person asking what the gateway recorded
about them learns nothing of a case they are not in, even when it shared their meeting.

The report includes a meeting's entries after one of the person's cases was put on its agenda
(its publications name no case, only the meeting). An entry that names cases, all of them
another person's (that case put on the same agenda later), is about those persons alone.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.cases.factories import (
    CASE_WRITE,
    case_body,
    create_case,
    put_case_at,
    riec_pseudonyms,
    send_signal,
    token,
)
from tests.factories import EVA, PIETER, POLITIE, RIEC, VLAARDINGEN
from tests.meetings.factories import add_item, create_meeting, publish

SAR = "/v1/audit/subject-access"


def _case_about_pieter_only(app: Flask, http: FlaskClient) -> dict[str, Any]:
    signal = send_signal(app, http, identifiers=(PIETER,))
    response = http.post("/v1/cases", json=case_body([signal], riec_pseudonyms(app, signal)),
                         headers=token(app, RIEC, CASE_WRITE))
    assert response.status_code == 201, response.json
    case: dict[str, Any] = response.json
    return case


def test_a_report_leaves_out_another_persons_case_put_on_the_same_meeting(
    gateway_app: Flask, http: FlaskClient
) -> None:
    evas = create_case(gateway_app, http, people=1)
    pieters = _case_about_pieter_only(gateway_app, http)
    for case in (evas, pieters):
        put_case_at(gateway_app, case["id"], "weging_kwalificatie")
    meeting = create_meeting(gateway_app, http, [RIEC, VLAARDINGEN, POLITIE])
    add_item(gateway_app, http, meeting, evas["id"], "Nagelstudio")
    add_item(gateway_app, http, meeting, pieters["id"], "Autowasstraat")
    publish(gateway_app, http, meeting)

    response = http.post(SAR, json={"identifiers": EVA},
                         headers=token(gateway_app, RIEC, ("audit:read",)))

    assert response.status_code == 200, response.json
    report = response.json
    assert ("meeting.published", "meeting") in {(e["action"], e["via"])
                                                for e in report["entries"]}
    assert pieters["id"] not in json.dumps(report)
    assert report["case_ids"] == [evas["id"]]
