"""Flask glue shared by every blueprint: problem+json rendering and request-body parsing."""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from gateway.faults import storage_unavailable, unavailability
from gateway.problems import Problem, bad_request

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger(__name__)


def problem_response(problem: Problem) -> Response:
    response = Response(
        json.dumps(problem.as_dict(instance=request.path)),
        status=problem.status,
        mimetype=PROBLEM_JSON,
    )
    response.headers.update(problem.headers)
    return response


def body_too_large(limit: int) -> Problem:
    return Problem(413, "body-too-large", "Request body too large",
                   f"the request body exceeds the limit of {limit} bytes")


def install_error_handlers(app: Flask) -> None:
    app.register_error_handler(Problem, problem_response)

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(_error: RequestEntityTooLarge) -> Response:
        return problem_response(body_too_large(app.config["MAX_CONTENT_LENGTH"]))

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        status = error.code or 500
        slug = (error.name or "error").lower().replace(" ", "-")
        return problem_response(Problem(status, slug, error.name, error.description or ""))

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        if storage_unavailable(error):
            # The type only: a database error's message can quote the statement's parameters.
            log.warning("storage unavailable on %s %s: %s", request.method, request.path,
                        type(error).__name__)
            return problem_response(unavailability(error))
        # Never echo the exception: it may carry identifiers from the request.
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem_response(
            Problem(500, "internal-error", "Internal error",
                    "the gateway could not complete the request; nothing was changed")
        )


def json_body() -> dict[str, Any]:
    """The request's JSON object, or a problem naming what is wrong with it."""
    if request.mimetype != "application/json":
        raise Problem(415, "unsupported-media-type", "Unsupported media type",
                      "send the body as application/json",
                      headers={"Accept-Post": "application/json"})
    try:
        raw = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise body_too_large(current_app.config["MAX_CONTENT_LENGTH"]) from None
    try:
        body = json.loads(raw, parse_constant=_refuse_constant)
    except RecursionError:
        # Nesting deeper than the interpreter's stack; a partner must not get a 500 for it.
        raise bad_request("malformed-json", "Malformed JSON",
                          "the body is nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request("malformed-json", "Malformed JSON", f"the body is not valid JSON: {exc}",
                          pointer="") from None
    if not isinstance(body, dict):
        raise bad_request("malformed-json", "Malformed JSON", "the body must be a JSON object")
    return body


def _refuse_constant(name: str) -> Any:
    # NaN and Infinity are not JSON (RFC 8259); Python accepts them, PostgreSQL's jsonb not.
    raise ValueError(f"{name} is not a JSON value")
