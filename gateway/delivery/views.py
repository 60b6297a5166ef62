"""HTTP shell around :class:`InboxService`."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from gateway.auth.guard import require_scope
from gateway.auth.interfaces import Principal
from gateway.container import current_container
from gateway.delivery.services import parse_limit
from gateway.problems import FieldError, validation_failed

blueprint = Blueprint("inbox", __name__)


@blueprint.get("/v1/inbox")
@require_scope("inbox:read")
def read_inbox(principal: Principal) -> dict[str, Any]:
    status = request.args.get("status", "all")
    if status not in ("all", "pending"):
        raise validation_failed([FieldError("/status", "either 'all' or 'pending'")])
    page = current_container().inbox.read(
        principal.caller(),
        request.args.get("cursor"),
        parse_limit(request.args.get("limit")),
        pending_only=status == "pending",
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


@blueprint.post("/v1/inbox/<delivery_id>/ack")
@require_scope("inbox:read")
def acknowledge(principal: Principal, delivery_id: str) -> dict[str, Any]:
    result: dict[str, Any] = current_container().inbox.acknowledge(
        principal.caller(), delivery_id
    )
    return result
