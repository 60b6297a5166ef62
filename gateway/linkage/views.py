"""HTTP shell around :class:`~gateway.linkage.services.LinkageService`."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, request

from gateway.auth.guard import require_scope
from gateway.auth.interfaces import Principal
from gateway.delivery.services import parse_limit
from gateway.exchange.services import Sender
from gateway.web import json_body

blueprint = Blueprint("linkage", __name__)


@blueprint.get("/v1/linkage/candidates")
@require_scope("linkage:read")
def list_candidates(principal: Principal) -> dict[str, Any]:
    items = current_app.extensions["ketenpoort"].linkage.candidates(
        Sender(principal.partner_id, principal.client_id), parse_limit(request.args.get("limit"))
    )
    return {"items": items}


@blueprint.post("/v1/linkage/candidates/<candidate_id>/decision")
@require_scope("linkage:write")
def decide(principal: Principal, candidate_id: str) -> dict[str, Any]:
    result: dict[str, Any] = current_app.extensions["ketenpoort"].linkage.decide(
        Sender(principal.partner_id, principal.client_id), candidate_id, json_body()
    )
    return result
