"""The shared HTTP glue: errors from routing keep what they say besides their body."""

from __future__ import annotations

from flask.testing import FlaskClient


def test_a_wrong_method_is_405_problem_json_with_allow(http: FlaskClient) -> None:
    response = http.put("/v1/exchanges", json={})

    assert response.status_code == 405
    assert response.mimetype == "application/problem+json"
    assert "POST" in response.headers["Allow"]
