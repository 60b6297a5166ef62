"""The request parser takes I-JSON only, and says where each fault is."""

from __future__ import annotations

import json

import pytest

from gateway.strict_json import MAX_DEPTH, MAX_EXACT_INTEGER, StrictJSONError, parse_strict


def _faults(raw: bytes) -> list[tuple[str, str]]:
    with pytest.raises(StrictJSONError) as refused:
        parse_strict(raw)
    return [(f.pointer, f.detail) for f in refused.value.faults]


def _pointers(raw: bytes) -> list[str]:
    return [pointer for pointer, _detail in _faults(raw)]


@pytest.mark.parametrize(("raw", "pointer"), [
    (b'{"a": NaN}', "/a"),
    (b'{"a": [1, -Infinity]}', "/a/1"),
    (b'{"a": {"b": 1e999}}', "/a/b"),
    (b'{"a": -1e400}', "/a"),
    (b'{"big": 9007199254740992}', "/big"),
    (b'{"big": -' + b"9" * 5000 + b"}", "/big"),
    (b'{"note": "\\ud800"}', "/note"),
    (b'{"s": ["ok", "\\udfff tail"]}', "/s/1"),
    (b'{"bsn": "111222333", "bsn": "123456782"}', "/bsn"),
    (b'{"x": {"a/b": 1, "a/b": 2}}', "/x/a~1b"),
])
def test_a_value_outside_i_json_is_refused_at_its_pointer(raw: bytes, pointer: str) -> None:
    assert _pointers(raw) == [pointer]


def test_a_member_name_with_a_lone_surrogate_is_refused_at_its_object() -> None:
    assert _pointers(b'{"o": {"\\ud800": 1}}') == ["/o"]


def test_every_fault_is_named_at_once() -> None:
    assert sorted(_pointers(b'{"a": NaN, "b": "\\ud800", "c": 1, "c": 2}')) == ["/a", "/b", "/c"]


def test_nesting_is_limited_below_the_interpreters_stack() -> None:
    within = b"[" * (MAX_DEPTH - 1) + b"[]" + b"]" * (MAX_DEPTH - 1)
    assert parse_strict(within) is not None

    [(pointer, detail)] = _faults(b"[" * MAX_DEPTH + b"[]" + b"]" * MAX_DEPTH)

    assert pointer == "/0" * MAX_DEPTH
    assert "nested" in detail


@pytest.mark.parametrize("levels", [1_000, 100_000])
def test_nesting_past_the_stack_is_refused_not_crashed(levels: int) -> None:
    [(_pointer, detail)] = _faults(b'{"a":' * levels + b"1" + b"}" * levels)

    assert "nested" in detail


@pytest.mark.parametrize("raw", [
    '{"a": 1}'.encode("utf-16"),
    '{"a": 1}'.encode("utf-16-le"),
    '{"a": 1}'.encode("utf-32"),
    b'\xef\xbb\xbf{"a": 1}',
    b'{"a": "\xe9"}',
])
def test_only_utf8_without_byte_order_mark_is_json(raw: bytes) -> None:
    [(pointer, _detail)] = _faults(raw)

    assert pointer == ""


def test_what_i_json_allows_parses_as_json_does() -> None:
    raw = json.dumps({"n": [MAX_EXACT_INTEGER, -MAX_EXACT_INTEGER, 0.5, 1e308, -0.0],
                      "s": "Zoë \U0001f600", "nested": {"t": True, "f": False, "z": None}})

    assert parse_strict(raw.encode()) == json.loads(raw)
