"""HTTP shell around re-identification and pseudonym translation."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from gateway.auth.guard import require_scope
from gateway.auth.interfaces import Principal
from gateway.container import current_container
from gateway.ports import Caller
from gateway.web import json_body

blueprint = Blueprint("identity", __name__)


def _requester(principal: Principal) -> Caller:
    return principal.caller()


@blueprint.post("/v1/reidentifications")
@require_scope("reidentify")
def request_reidentification(principal: Principal) -> Response:
    service = current_container().reidentifications
    outcome = service.request(_requester(principal), json_body())
    response = jsonify(outcome.body)
    response.status_code = outcome.status
    response.headers.update(outcome.headers)
    return response


@blueprint.post("/v1/reidentifications/<reidentification_id>/approve")
@require_scope("reidentify")
def approve_reidentification(principal: Principal, reidentification_id: str) -> dict[str, Any]:
    service = current_container().reidentifications
    result: dict[str, Any] = service.approve(_requester(principal), reidentification_id)
    return result


@blueprint.post("/v1/reidentifications/<reidentification_id>/deny")
@require_scope("reidentify")
def deny_reidentification(principal: Principal, reidentification_id: str) -> dict[str, Any]:
    service = current_container().reidentifications
    result: dict[str, Any] = service.deny(_requester(principal), reidentification_id)
    return result


@blueprint.get("/v1/reidentifications/<reidentification_id>")
@require_scope("reidentify")
def fetch_reidentification(principal: Principal, reidentification_id: str) -> dict[str, Any]:
    service = current_container().reidentifications
    result: dict[str, Any] = service.fetch(_requester(principal), reidentification_id)
    return result


@blueprint.post("/v1/pseudonyms/translate")
@require_scope("inbox:read")
def translate_pseudonyms(principal: Principal) -> dict[str, Any]:
    service = current_container().pseudonym_translation
    result: dict[str, Any] = service.translate(
        principal.partner_id, principal.client_id, json_body()
    )
    return result
