"""Request bodies parsed as I-JSON (RFC 7493): the subset of RFC 8259 every receiver reads alike.

Python's ``json`` is lenient where it matters here: it guesses UTF-16 and UTF-32, accepts
``NaN``, ``Infinity`` and numbers that overflow to infinity, keeps the last of duplicate member
names, and lets a lone surrogate escape (``"\\ud800"``) through as a string no UTF-8 encoder
takes. A body one backend stores and another refuses, or that a partner's strict parser rejects
when the gateway serves it on, is refused here instead, naming where the fault is (a JSON
pointer), so the request changes nothing.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

#: Deep enough for any body the API defines with partner content inside; far below the
#: interpreter's stack, so nothing downstream (canonical JSON, the database driver) recurses out.
MAX_DEPTH = 32
#: RFC 7493 section 2.2: integers beyond IEEE 754 double precision are not exchanged exactly.
MAX_EXACT_INTEGER = 2**53 - 1
_MAX_INTEGER_DIGITS = len(str(MAX_EXACT_INTEGER))
#: A body with more faults than this gets the first ones: enough to fix, bounded to report.
MAX_REPORTED = 20
_BYTE_ORDER_MARK = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class JSONFault:
    pointer: str  # RFC 6901; "" is the whole body
    detail: str


class StrictJSONError(ValueError):
    """The body is not I-JSON; ``faults`` says where and why."""

    def __init__(self, faults: list[JSONFault]) -> None:
        super().__init__("; ".join(f"{f.pointer or '(body)'}: {f.detail}" for f in faults))
        self.faults = faults


@dataclass(frozen=True)
class _Refused:
    """A value the parser met that is not I-JSON; reported with its pointer by the walk."""

    detail: str


class _DuplicateMembers(dict[str, Any]):
    """An object that named some member more than once (kept for the walk to report)."""

    duplicates: list[str]


def parse_strict(raw: bytes) -> Any:
    """The value ``raw`` holds, or :class:`StrictJSONError` naming every fault (up to a bound)."""
    text = _utf8(raw)
    try:
        value = json.loads(text, object_pairs_hook=_members, parse_constant=_constant,
                           parse_float=_float, parse_int=_integer)
    except RecursionError:
        raise _fault("", f"nested deeper than {MAX_DEPTH} levels") from None
    except json.JSONDecodeError as error:
        raise _fault("", f"not valid JSON: {error.msg} at line {error.lineno} column "
                         f"{error.colno}") from None
    faults = _faults(value)
    if faults:
        raise StrictJSONError(faults[:MAX_REPORTED])
    return value


def _fault(pointer: str, detail: str) -> StrictJSONError:
    return StrictJSONError([JSONFault(pointer, detail)])


def _utf8(raw: bytes) -> str:
    if raw.startswith(_BYTE_ORDER_MARK):
        raise _fault("", "the body starts with a byte order mark; send UTF-8 without one")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _fault("", f"not UTF-8 (byte {error.start}); JSON is exchanged in UTF-8 "
                         "only") from None


def _members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) == len(pairs):
        return members
    duplicated = _DuplicateMembers(members)
    counts = Counter(name for name, _ in pairs)
    duplicated.duplicates = sorted(name for name, count in counts.items() if count > 1)
    return duplicated


def _constant(name: str) -> _Refused:
    return _Refused(f"{name} is not a JSON number")


def _float(literal: str) -> float | _Refused:
    value = float(literal)
    if not math.isfinite(value):
        return _Refused(f"{literal[:32]} is beyond the range of a double")
    return value


def _integer(literal: str) -> int | _Refused:
    digits = literal.lstrip("-")
    # Checked on the text first: converting thousands of digits is itself slow.
    if len(digits) > _MAX_INTEGER_DIGITS or int(digits) > MAX_EXACT_INTEGER:
        return _Refused(f"integers are exchanged up to {MAX_EXACT_INTEGER} in size; send larger "
                        "ones as strings")
    return int(literal)


def _faults(value: Any) -> list[JSONFault]:
    """Walks the parsed value without recursion (its depth is the partner's choice)."""
    faults: list[JSONFault] = []
    pending: list[tuple[Any, str, int]] = [(value, "", 0)]
    while pending and len(faults) < MAX_REPORTED:
        current, pointer, depth = pending.pop()
        if isinstance(current, dict | list) and depth >= MAX_DEPTH:
            faults.append(JSONFault(pointer, f"nested deeper than {MAX_DEPTH} levels"))
        elif isinstance(current, dict):
            faults.extend(_object_faults(current, pointer))
            pending.extend((member, f"{pointer}/{_escape(name)}", depth + 1)
                           for name, member in current.items() if _is_unicode(name))
        elif isinstance(current, list):
            pending.extend((element, f"{pointer}/{index}", depth + 1)
                           for index, element in enumerate(current))
        elif isinstance(current, _Refused):
            faults.append(JSONFault(pointer, current.detail))
        elif isinstance(current, str) and not _is_unicode(current):
            faults.append(JSONFault(pointer, "holds a lone surrogate escape, which is no "
                                             "Unicode character"))
    return faults


def _object_faults(members: dict[str, Any], pointer: str) -> list[JSONFault]:
    faults = [JSONFault(f"{pointer}/{_escape(name)}", "this member name appears more than once")
              for name in getattr(members, "duplicates", ())]
    if not all(_is_unicode(name) for name in members):
        faults.append(JSONFault(pointer, "a member name holds a lone surrogate escape"))
    return faults


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _escape(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")
