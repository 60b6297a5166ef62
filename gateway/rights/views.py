"""HTTP shell around :class:`~gateway.rights.services.SubjectRights`."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from gateway.auth.guard import require_scope
from gateway.auth.interfaces import Principal
from gateway.container import current_container
from gateway.web import json_body

blueprint = Blueprint("rights", __name__)
OFFICER = "rights:write"


def _created(body: dict[str, Any], status: int = 201) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


@blueprint.post("/v1/rights/rectifications")
@require_scope(OFFICER)
def rectify(principal: Principal) -> Response:
    return _created(current_container().rights.rectify(principal.caller(), json_body()))


@blueprint.post("/v1/rights/restrictions")
@require_scope(OFFICER)
def restrict(principal: Principal) -> Response:
    return _created(current_container().rights.restrict(principal.caller(), json_body()))


@blueprint.post("/v1/rights/restrictions/<restriction_id>/lift")
@require_scope(OFFICER)
def lift(principal: Principal, restriction_id: str) -> Response:
    outcome = current_container().rights.lift(principal.caller(), restriction_id)
    return _created(outcome.body, outcome.status)


@blueprint.post("/v1/rights/objections")
@require_scope(OFFICER)
def object_(principal: Principal) -> Response:
    return _created(current_container().rights.object(principal.caller(), json_body()))


@blueprint.get("/v1/inbox/notices")
@require_scope("inbox:read")
def notices(principal: Principal) -> dict[str, Any]:
    return {"items": current_container().rights.notices(principal.caller())}
