"""A real ``ketenpoort serve``: gunicorn's own refusals and the streamed body limit.

Requests gunicorn cannot parse never reach the app; they are answered as problem+json all the
same. A chunked body over the limit is refused with 413 by the app reading the stream.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from tests.factories import VLAARDINGEN, exchange_body
from tests.test_readme_scenario import _token, served

__all__ = ["served"]  # the module's running gateway, shared with the README scenario's setup

BAD_REQUESTS = [
    (b"NOT-HTTP\r\n\r\n", 400),
    (b"GET /" + b"a" * 8_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 10_000 + b"\r\n\r\n", 431),
]


def _exchange(base: str, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(raw)
        reply = b""
        while chunk := connection.recv(65_536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
    return int(status_line.split(" ")[1]), headers, body


@pytest.mark.parametrize(("raw", "status"), BAD_REQUESTS, ids=["bad-line", "uri-too-long",
                                                               "header-too-large"])
def test_gunicorns_own_refusals_are_problem_json(
    served: tuple[str, Path], raw: bytes, status: int
) -> None:
    base, _instance = served

    answered, headers, body = _exchange(base, raw)

    assert answered == status
    assert headers["content-type"] == "application/problem+json"
    problem = json.loads(body)
    assert problem["status"] == status
    assert not any(echo in body for echo in (b"aaaa", b"bbbb", b"NOT-HTTP"))  # nothing echoed


def test_a_chunked_body_over_the_limit_is_413_on_the_real_server(
    served: tuple[str, Path]
) -> None:
    base, instance = served
    token = _token(base, instance, VLAARDINGEN)
    payload = json.dumps(exchange_body()).encode() + b" " * 3_000_000
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part)
                      for part in (payload[i:i + 65_536] for i in range(0, len(payload), 65_536)))
    raw = (b"POST /v1/exchanges HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           b"Authorization: Bearer " + token.encode() + b"\r\nTransfer-Encoding: chunked\r\n"
           b"Connection: close\r\n\r\n" + chunks + b"0\r\n\r\n")

    answered, headers, body = _exchange(base, raw)

    assert answered == 413, body
    assert headers["content-type"] == "application/problem+json"
