"""Structured logs: one JSON object per line, carrying the request id and W3C trace context.

The trace travels on: into the Celery task headers (``traceparent``) of the outbox deliveries a
request caused, and from the task into the ``traceparent`` header of the webhook it posts, so a
partner's request, the worker's lines and the receiver's log share one trace id.

Every process configures logging once with :func:`configure_logging`; the HTTP shell binds the
current request's :class:`TraceContext` with :func:`bind_trace` so every line logged while the
request runs names it. A line never carries a query string: the access line names the route
template (``/v1/cases/<case_id>``), not the path the caller sent.
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

REQUEST_ID_HEADER = "X-Request-Id"
TRACEPARENT_HEADER = "traceparent"
# A caller's request id is echoed and logged, so only the generated kinds are taken: a UUID (Envoy,
# most clients) or 16-64 hex digits (nginx's $request_id). Free text such as a dossier number or
# a name, which would put an identifier in the log, is replaced by a fresh id.
_REQUEST_ID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|[0-9a-fA-F]{16,64}")
# W3C Trace Context, version 00: version-traceid-parentid-flags, lower-case hex.
_TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
# Attributes every LogRecord has; anything else a caller passed with ``extra=`` is logged too.
_STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "taskName",
}


@dataclass(frozen=True)
class TraceContext:
    """The request id and this process's span within a W3C trace."""

    request_id: str
    trace_id: str
    span_id: str
    parent_id: str | None = None
    flags: str = "01"

    @property
    def traceparent(self) -> str:
        """The ``traceparent`` to send onwards: this span is the parent of what follows."""
        return f"00-{self.trace_id}-{self.span_id}-{self.flags}"

    @classmethod
    def from_headers(cls, request_id: str | None, traceparent: str | None) -> TraceContext:
        """Continue the caller's trace and keep its request id when both are well formed;
        otherwise start afresh (a malformed header is ignored, as the W3C recommendation says)."""
        request_id = request_id if request_id and _REQUEST_ID.fullmatch(request_id) else None
        match = _TRACEPARENT.fullmatch(traceparent.strip()) if traceparent else None
        trace_id, parent_id, flags = match.groups() if match else (None, None, "01")
        if trace_id is None or set(trace_id) == {"0"} or set(parent_id or "0") == {"0"}:
            trace_id, parent_id, flags = secrets.token_hex(16), None, "01"
        return cls(request_id=request_id or secrets.token_hex(16), trace_id=trace_id,
                   span_id=secrets.token_hex(8), parent_id=parent_id, flags=flags)


_current: ContextVar[TraceContext | None] = ContextVar("ketenpoort_trace", default=None)


def bind_trace(context: TraceContext) -> Token[TraceContext | None]:
    """Name ``context`` on every line this thread logs until :func:`unbind_trace`."""
    return _current.set(context)


def unbind_trace(token: Token[TraceContext | None]) -> None:
    _current.reset(token)


def current_trace() -> TraceContext | None:
    return _current.get()


@contextmanager
def traced(context: TraceContext | None) -> Iterator[TraceContext]:
    """Run the block in ``context``, or in a new trace when there is none (background work
    started by no request: a sweep, a retry, the embedded drainer)."""
    bound = context or TraceContext.from_headers(None, None)
    token = bind_trace(bound)
    try:
        yield bound
    finally:
        unbind_trace(token)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: timestamp (UTC, ISO 8601), level, logger, message, the
    bound trace context, ``extra=`` fields and the exception's type and traceback."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        trace = current_trace()
        if trace is not None:
            line.update(request_id=trace.request_id, trace_id=trace.trace_id,
                        span_id=trace.span_id, traceparent=trace.traceparent)
        line.update({key: value for key, value in vars(record).items()
                     if key not in _STANDARD_ATTRIBUTES and not key.startswith("_")})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def logging_config(level: str) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` document: JSON lines on stderr for every logger,
    gunicorn's included (gunicorn takes it as ``logconfig_dict``)."""
    handler = {"class": "logging.StreamHandler", "formatter": "json",
               "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"json": handler},
        "root": {"level": level, "handlers": ["json"]},
        "loggers": {
            # gunicorn's messages go to the root's JSON handler; its access lines (path and
            # query as sent) are silenced: the app writes its own, naming the route template.
            "gunicorn.error": {"level": level, "handlers": [], "propagate": True},
            "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
        },
    }


def configure_logging(level: str) -> None:
    """JSON lines on stderr for this process."""
    logging.config.dictConfig(logging_config(level))
