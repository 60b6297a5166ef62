"""HTTP shell around :class:`~gateway.cases.services.CaseService`."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from gateway.auth.guard import require_scope
from gateway.auth.interfaces import Principal
from gateway.cases.worklist import WorkListQuery
from gateway.container import current_container
from gateway.ports import Caller
from gateway.web import json_body

blueprint = Blueprint("cases", __name__)


def _service() -> Any:
    return current_container().cases


def _actor(principal: Principal) -> Caller:
    return principal.caller()


@blueprint.post("/v1/cases")
@require_scope("case:write")
def create_case(principal: Principal) -> Any:
    case = _service().create(_actor(principal), json_body())
    return case, 201, {"Location": f"/v1/cases/{case['id']}"}


@blueprint.get("/v1/cases")
@require_scope("case:read")
def list_cases(principal: Principal) -> Any:
    return _service().work_list(_actor(principal), WorkListQuery.from_args(request.args))


@blueprint.get("/v1/cases/<case_id>")
@require_scope("case:read")
def read_case(principal: Principal, case_id: str) -> Any:
    return _service().read(_actor(principal), case_id)


@blueprint.post("/v1/cases/<case_id>/transitions")
@require_scope("case:write")
def move_case(principal: Principal, case_id: str) -> Any:
    return _service().move(_actor(principal), case_id, json_body())


@blueprint.post("/v1/cases/<case_id>/assignments")
@require_scope("case:write")
def assign_intervention(principal: Principal, case_id: str) -> Any:
    return _service().assign(_actor(principal), case_id, json_body()), 201


@blueprint.post("/v1/cases/<case_id>/assignments/<assignment_id>/decision")
@require_scope("case:write")
def answer_intervention(principal: Principal, case_id: str, assignment_id: str) -> Any:
    return _service().answer_assignment(_actor(principal), case_id, assignment_id, json_body())


@blueprint.post("/v1/cases/<case_id>/assignments/<assignment_id>/progress")
@require_scope("case:write")
def report_progress(principal: Principal, case_id: str, assignment_id: str) -> Any:
    return _service().report_progress(_actor(principal), case_id, assignment_id, json_body()), 201
