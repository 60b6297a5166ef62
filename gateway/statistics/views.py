"""``GET /v1/statistics``: a thin shell over :class:`StatisticsService`."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from gateway.auth.guard import require_scope
from gateway.auth.interfaces import Principal
from gateway.container import current_container

blueprint = Blueprint("statistics", __name__)


@blueprint.get("/v1/statistics")
@require_scope("statistics:read")
def statistics(principal: Principal) -> dict[str, Any]:
    return current_container().statistics.report(principal.caller(), request.args.to_dict())
