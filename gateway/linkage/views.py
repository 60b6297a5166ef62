"""HTTP shell around :class:`~gateway.linkage.services.LinkageService`."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from gateway.auth.guard import require_scope
from gateway.auth.interfaces import Principal
from gateway.container import current_container
from gateway.delivery.services import parse_limit
from gateway.web import json_body

blueprint = Blueprint("linkage", __name__)


@blueprint.get("/v1/linkage/candidates")
@require_scope("linkage:read")
def list_candidates(principal: Principal) -> dict[str, Any]:
    items = current_container().linkage.candidates(
        principal.caller(), parse_limit(request.args.get("limit"))
    )
    return {"items": items}


@blueprint.post("/v1/linkage/candidates/<candidate_id>/decision")
@require_scope("linkage:write")
def review(principal: Principal, candidate_id: str) -> tuple[dict[str, Any], int]:
    result: dict[str, Any] = current_container().linkage.review(
        principal.caller(), candidate_id, json_body()
    )
    # A first confirmation is accepted but waits for a second reviewer.
    return result, 202 if result["awaiting_second_confirmation"] else 200


@blueprint.post("/v1/linkage/candidates/<candidate_id>/unlink")
@require_scope("linkage:write")
def unlink(principal: Principal, candidate_id: str) -> dict[str, Any]:
    result: dict[str, Any] = current_container().linkage.unlink(
        principal.caller(), candidate_id
    )
    return result
