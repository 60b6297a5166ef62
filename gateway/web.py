"""Flask glue shared by every blueprint: problem+json rendering and request-body parsing."""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Flask, Response, current_app, g, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.wsgi import get_input_stream

from gateway.faults import storage_unavailable, unavailability
from gateway.problems import FieldError, Problem, bad_request
from gateway.strict_json import StrictJSONError, parse_strict

PROBLEM_JSON = "application/problem+json"
UTF8_NAMES = frozenset({"utf-8", "utf8"})
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
        # Keep what the error says besides its body: a 405's Allow, a 401's WWW-Authenticate.
        headers = {name: value for name, value in error.get_headers()
                   if name.lower() != "content-type"}
        return problem_response(Problem(status, slug, error.name, error.description or "",
                                        headers=headers))

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
    """The request's JSON object (strict I-JSON), or a problem naming what is wrong with it."""
    if request.mimetype != "application/json":
        raise Problem(415, "unsupported-media-type", "Unsupported media type",
                      "send the body as application/json",
                      headers={"Accept-Post": "application/json"})
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if charset not in UTF8_NAMES:
        raise Problem(415, "unsupported-media-type", "Unsupported media type",
                      "JSON is accepted in UTF-8 only (charset=utf-8, or no charset)",
                      headers={"Accept-Post": "application/json"})
    try:
        body = parse_strict(_body_within_limit(current_app.config["MAX_CONTENT_LENGTH"]))
    except StrictJSONError as error:
        raise Problem(400, "malformed-json", "Malformed JSON", str(error),
                      [FieldError(f.pointer, f.detail) for f in error.faults]) from None
    if not isinstance(body, dict):
        raise bad_request("malformed-json", "Malformed JSON", "the body must be a JSON object",
                          pointer="")
    g.json_body = body  # the stream is read once; later readers (metrics) take it from here
    return body


def _body_within_limit(limit: int) -> bytes:
    """The whole body, or 413 as soon as it is known to exceed ``limit``, chunked or not.

    Werkzeug stops reading a stream without ``Content-Length`` (chunked) silently at the
    limit and hands back the truncated start; reading one byte more tells a body of exactly
    the limit from a longer one.
    """
    try:
        # Raises at once when Content-Length already says too much.
        raw = get_input_stream(request.environ, max_content_length=limit + 1).read()
    except RequestEntityTooLarge:
        raise body_too_large(limit) from None
    if len(raw) > limit:
        raise body_too_large(limit)
    return raw
