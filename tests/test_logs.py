"""JSON log lines with timestamp, level, logger and the request's trace context."""

from __future__ import annotations

import json
import logging

from gateway.logs import JsonFormatter, TraceContext, bind_trace, unbind_trace

CALLER_TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def _line(record: logging.LogRecord) -> dict[str, object]:
    return json.loads(JsonFormatter().format(record))


def _record(message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("gateway.test", logging.WARNING, __file__, 1, message, args, None)


def test_a_line_is_one_json_object_with_time_level_and_logger() -> None:
    line = _line(_record("sealed %d entries", 3))

    assert line["message"] == "sealed 3 entries"
    assert line["level"] == "WARNING"
    assert line["logger"] == "gateway.test"
    assert str(line["timestamp"]).endswith("+00:00")
    assert "request_id" not in line


def test_a_line_names_the_bound_request_and_trace() -> None:
    trace = TraceContext.from_headers("0123456789abcdef", CALLER_TRACE)
    token = bind_trace(trace)
    try:
        line = _line(_record("inside"))
    finally:
        unbind_trace(token)

    assert line["request_id"] == "0123456789abcdef"
    assert line["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert line["traceparent"] == trace.traceparent
    assert "request_id" not in _line(_record("after"))


def test_the_callers_trace_is_continued_with_a_span_of_our_own() -> None:
    trace = TraceContext.from_headers(None, CALLER_TRACE)

    assert trace.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert trace.parent_id == "00f067aa0ba902b7"
    assert trace.span_id != trace.parent_id
    assert trace.traceparent == f"00-{trace.trace_id}-{trace.span_id}-01"
    assert len(trace.request_id) == 32


def test_malformed_or_unsafe_headers_start_afresh() -> None:
    for traceparent in ("00-" + "0" * 32 + "-00f067aa0ba902b7-01", "garbage",
                        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"):
        trace = TraceContext.from_headers("bsn=111222333 Jansen", traceparent)
        assert trace.trace_id != "4bf92f3577b34da6a3ce929d0e0e4736"
        assert trace.parent_id is None
        assert "Jansen" not in trace.request_id
