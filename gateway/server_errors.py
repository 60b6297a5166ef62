"""gunicorn's own refusals (a bad request line, a URI or headers too long) as problem+json.

gunicorn answers requests it cannot parse before the app sees them, with an HTML page that
quotes the offending request line. This worker keeps gunicorn's judgement (status and reason)
and renders it as RFC 9457 ``application/problem+json`` like every other error, without echoing
what the client sent (a request line can carry identifiers).
"""

from __future__ import annotations

import json
from typing import Any

from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker

from gateway.problems import PROBLEM_BASE

_DETAILS = {
    400: "the request could not be parsed as HTTP",
    414: "the request line is too long",
    431: "the request's header fields are too large",
}


class _CapturedReply:
    """Stands in for the client socket while gunicorn writes its HTML reply, to keep only the
    status line; every other use reaches the real socket."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.status_line = b""

    def gettimeout(self) -> float:
        return 0.0  # so gunicorn writes at once, to us

    def sendall(self, data: bytes) -> None:
        self.status_line = self.status_line or data.split(b"\r\n", 1)[0]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class ProblemThreadWorker(ThreadWorker):  # type: ignore[misc]  # gunicorn ships no type information
    """gunicorn's ``gthread`` worker with its error replies as problem+json."""

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        captured = _CapturedReply(client)
        super().handle_error(req, captured, addr, exc)
        try:
            util.write_nonblock(client, problem_reply(captured.status_line))
        except OSError:
            self.log.debug("Failed to send error message.")


def problem_reply(status_line: bytes) -> bytes:
    """The whole HTTP reply for gunicorn's ``HTTP/1.1 <status> <reason>`` line."""
    _version, status_text, reason = status_line.decode("latin-1").split(" ", 2)
    status = int(status_text)
    slug = reason.lower().replace(" ", "-")
    body = json.dumps({"type": PROBLEM_BASE + slug, "title": reason, "status": status,
                       "detail": _DETAILS.get(status, reason.lower())}).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/problem+json\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode("latin-1") + body
