"""HTTP shell around :class:`~gateway.meetings.services.MeetingService`."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from gateway.auth.guard import require_scope
from gateway.auth.interfaces import Principal
from gateway.container import current_container
from gateway.ports import Caller
from gateway.web import json_body

blueprint = Blueprint("meetings", __name__)


def _service() -> Any:
    return current_container().meetings


def _actor(principal: Principal) -> Caller:
    return principal.caller()


@blueprint.post("/v1/meetings")
@require_scope("meeting:admin")
def create_meeting(principal: Principal) -> Any:
    meeting = _service().create(_actor(principal), json_body())
    return meeting, 201, {"Location": f"/v1/meetings/{meeting['id']}"}


@blueprint.post("/v1/meetings/<meeting_id>/items")
@require_scope("meeting:admin")
def add_agenda_item(principal: Principal, meeting_id: str) -> Any:
    return _service().add_item(_actor(principal), meeting_id, json_body()), 201


@blueprint.get("/v1/meetings/<meeting_id>/routing")
@require_scope("meeting:admin")
def routing_preview(principal: Principal, meeting_id: str) -> Any:
    return _service().routing(_actor(principal), meeting_id)


@blueprint.post("/v1/meetings/<meeting_id>/publish")
@require_scope("meeting:admin")
def publish_agenda(principal: Principal, meeting_id: str) -> Any:
    return _service().publish(_actor(principal), meeting_id)


@blueprint.get("/v1/meetings")
@require_scope("meeting:read")
def list_agendas(principal: Principal) -> Any:
    return {"items": _service().agendas(_actor(principal))}


@blueprint.get("/v1/meetings/administered")
@require_scope("meeting:admin")
def list_administered(principal: Principal) -> Any:
    return {"items": _service().administered(_actor(principal))}


@blueprint.get("/v1/meetings/<meeting_id>/agenda")
@require_scope("meeting:read")
def read_agenda(principal: Principal, meeting_id: str) -> Any:
    return _service().agenda(_actor(principal), meeting_id)


@blueprint.post("/v1/meetings/<meeting_id>/items/<item_id>/outcome")
@require_scope("meeting:admin")
def record_outcome(principal: Principal, meeting_id: str, item_id: str) -> Any:
    return _service().record_outcome(_actor(principal), meeting_id, item_id, json_body())
