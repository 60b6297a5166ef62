"""HTTP shell around :class:`ExchangeService`: parse the request, call the service, answer."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, request

from gateway.auth.guard import require_scope
from gateway.auth.interfaces import Principal
from gateway.container import current_container
from gateway.fsc import current_transaction_id
from gateway.problems import Problem
from gateway.web import PROBLEM_JSON, json_body

blueprint = Blueprint("exchange", __name__)


@blueprint.post("/v1/exchanges")
@require_scope("exchange:write")
def submit_exchange(principal: Principal) -> Response:
    service = current_container().exchanges
    sender = principal.caller(current_transaction_id())
    try:
        body = json_body()
    except Problem as problem:
        service.record_rejection(sender, problem)
        raise
    outcome = service.submit(sender, body, request.headers.get("Idempotency-Key"))
    mimetype = "application/json" if outcome.status < 400 else PROBLEM_JSON
    response = Response(json.dumps(outcome.body), status=outcome.status, mimetype=mimetype)
    if outcome.status == 201:
        response.headers["Location"] = f"/v1/exchanges/{outcome.body['id']}"
    return response


@blueprint.get("/v1/exchanges/<exchange_id>")
@require_scope("exchange:write")
def read_exchange(principal: Principal, exchange_id: str) -> dict[str, Any]:
    return current_container().exchanges.view(principal.caller(), exchange_id)
