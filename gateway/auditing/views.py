"""HTTP shell around :class:`~gateway.auditing.services.AuditReader`.

Services come from the app's container (:func:`gateway.container.current_container`):
``session_factory``, ``audit`` (:class:`audit.log.AuditLog`), ``keyring`` and, for the
guard, ``tokens``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, jsonify, request

from gateway.auditing.csv_export import events_csv
from gateway.auditing.queries import parse_consistency, parse_search, parse_size, search_body
from gateway.auditing.services import Reader
from gateway.auditing.subject_access import COPIES, DATA_SUBJECT_COPY, VERIFICATION_COPY
from gateway.auditing.subject_access_html import render as render_subject_access
from gateway.auditing.subject_access_pdf import render as render_subject_access_pdf
from gateway.auth.guard import require_scope
from gateway.auth.interfaces import SCOPES, Principal
from gateway.container import current_container
from gateway.problems import FieldError, forbidden, validation_failed
from gateway.web import json_body

View = Callable[..., Any]
READ_ALL = "audit:read"
READ_OWN = "audit:own"


def require_any_scope(*scopes: str) -> Callable[[View], View]:
    """Let a request in with a valid bearer token holding at least one of ``scopes``.

    Token verification is the guard's own: ``require_scope()`` with no scope authenticates
    and passes ``principal``; the scope choice is made here.
    """
    unknown = set(scopes) - set(SCOPES)
    if not scopes or unknown:
        # A misspelt scope would lock the view for everyone; fail when the view is defined.
        raise ValueError(f"unknown or no scope(s): {', '.join(sorted(unknown))}")

    def decorate(view: View) -> View:
        @wraps(view)
        def checked(*args: Any, principal: Principal, **kwargs: Any) -> Any:
            if not any(principal.has_scope(scope) for scope in scopes):
                problem = forbidden(
                    "insufficient-scope",
                    f"the access token needs one of the scopes {' '.join(scopes)}",
                    missing_scopes=list(scopes),
                )
                # RFC 6750 section 3.1: name the error and the scope(s) that would do.
                problem.headers["WWW-Authenticate"] = (
                    'Bearer realm="ketenpoort", error="insufficient_scope", '
                    f'scope="{" ".join(scopes)}"'
                )
                raise problem
            return view(*args, principal=principal, **kwargs)

        return require_scope()(checked)

    return decorate


def create_audit_blueprint() -> Blueprint:
    blueprint = Blueprint("audit_api", __name__)

    @blueprint.get("/v1/audit/checkpoint")
    @require_any_scope(READ_ALL, READ_OWN)
    def checkpoint(principal: Principal) -> dict[str, Any]:
        return current_container().audit_reader.latest_checkpoint()

    @blueprint.get("/v1/audit/checkpoint/signed-note")
    @require_any_scope(READ_ALL, READ_OWN)
    def signed_checkpoint(principal: Principal) -> Response:
        return Response(current_container().audit_reader.latest_signed_note(),
                        mimetype="text/plain")

    @blueprint.get("/v1/audit/public-keys")
    def public_keys() -> dict[str, Any]:
        # Public on purpose: anyone holding an export must be able to verify it.
        return {"keys": current_container().audit_reader.public_keys()}

    @blueprint.get("/v1/audit/events/<event_id>/inclusion-proof")
    @require_any_scope(READ_ALL, READ_OWN)
    def inclusion_proof(principal: Principal, event_id: str) -> dict[str, Any]:
        raw_size = request.args.get("tree_size")
        tree_size = None if raw_size is None else parse_size(raw_size, "tree_size", minimum=1)
        return current_container().audit_reader.inclusion_proof(_reader(principal), event_id,
                                                                tree_size)

    @blueprint.get("/v1/audit/consistency-proof")
    @require_any_scope(READ_ALL, READ_OWN)
    def consistency_proof(principal: Principal) -> dict[str, Any]:
        first, second = parse_consistency(request.args)
        return current_container().audit_reader.consistency_proof(first, second)

    @blueprint.get("/v1/audit/events")
    @require_any_scope(READ_ALL, READ_OWN)
    def search(principal: Principal) -> Response:
        query = parse_search(request.args)
        as_csv = _wants_csv()
        page = current_container().audit_reader.search(_reader(principal), query,
                                                       "csv" if as_csv else "json")
        if not as_csv:
            return jsonify({"items": page.items, "next_cursor": page.next_cursor})
        response = Response(events_csv(page.items, principal.has_scope(READ_ALL)),
                            mimetype="text/csv")
        response.headers["Content-Disposition"] = 'attachment; filename="audit-events.csv"'
        if page.next_cursor is not None:
            arguments = {**request.args.to_dict(), "cursor": page.next_cursor}
            response.headers["Link"] = f'<{request.path}?{urlencode(arguments)}>; rel="next"'
        return response

    @blueprint.post("/v1/audit/events/search")
    @require_any_scope(READ_ALL, READ_OWN)
    def search_by_body(principal: Principal) -> Response:
        body = search_body(json_body())
        query = parse_search(body, in_url=False)
        if body.get("format") == "csv":
            raise validation_failed([FieldError("/format", "a POSTed search answers JSON; "
                                                "export CSV with GET /v1/audit/events")])
        page = current_container().audit_reader.search(_reader(principal), query, "json")
        return jsonify({"items": page.items, "next_cursor": page.next_cursor})

    @blueprint.post("/v1/audit/subject-access")
    @require_any_scope(READ_ALL)
    def subject_access(principal: Principal) -> Response:
        format_ = _report_format()
        copy = _report_copy(format_)
        report = current_container().subject_access.report(_reader(principal), json_body(),
                                                           copy)
        if format_ == "json":
            return jsonify(report)
        if format_ == "pdf":
            response = Response(render_subject_access_pdf(report), mimetype="application/pdf")
            response.headers["Content-Disposition"] = 'attachment; filename="inzage.pdf"'
        else:
            response = Response(render_subject_access(report), mimetype="text/html")
            response.headers["Content-Security-Policy"] = (
                "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
            )
        # The report names a person's history: never cached, nor framed by another page.
        response.headers["Cache-Control"] = "no-store"
        return response

    return blueprint


_REPORT_FORMATS = {"application/json": "json", "text/html": "html", "application/pdf": "pdf"}


def _report_format() -> str:
    """``json``, ``html`` or ``pdf``: from ``?format=``, else from the Accept header."""
    format_ = request.args.get("format")
    if format_ is not None:
        if format_ not in _REPORT_FORMATS.values():
            raise validation_failed([FieldError("/format", "'json', 'html' or 'pdf'")])
        return format_
    best = request.accept_mimetypes.best_match(list(_REPORT_FORMATS))
    return _REPORT_FORMATS.get(best or "", "json")


def _report_copy(format_: str) -> str:
    """``?copy=``: the data subject's copy (the default), or the officer's verification copy,
    which holds other persons' pseudonyms and so is never rendered for handing over."""
    copy = request.args.get("copy", DATA_SUBJECT_COPY)
    if copy not in COPIES:
        raise validation_failed([FieldError("/copy", " or ".join(map(repr, COPIES)))])
    if copy == VERIFICATION_COPY and format_ != "json":
        raise validation_failed([FieldError("/copy", "the verification copy is JSON only")])
    return copy


def _reader(principal: Principal) -> Reader:
    return Reader(principal.partner_id, principal.client_id, sees_all=principal.has_scope(READ_ALL))


def _wants_csv() -> bool:
    format_ = request.args.get("format")
    if format_ is not None:
        return format_ == "csv"
    best = request.accept_mimetypes.best_match(["application/json", "text/csv"])
    return best == "text/csv"
