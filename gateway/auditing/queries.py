"""Request parameters of the audit read API, parsed into typed queries.

Takes plain mappings, so it never imports Flask. Every malformed parameter becomes a
:func:`~gateway.problems.validation_failed` problem pointing at ``/<parameter>``; unknown
parameters are refused too, because a misspelt filter would silently widen a search that a
privacy officer relies on being narrow.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from gateway.problems import FieldError, validation_failed

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_TEXT_LENGTH = 200
# Plain dates in a search mean Dutch calendar days, as the privacy officers reading them do.
LOCAL_ZONE = ZoneInfo("Europe/Amsterdam")
SEARCH_PARAMETERS = frozenset(
    {"partner", "action", "covenant", "decision", "from", "to", "pseudonym", "cursor", "limit",
     "format"}
)
_CURSOR_PREFIX = "a:"

Decision = Literal["allowed", "refused"]


@dataclass(frozen=True)
class SearchQuery:
    """Filters of ``GET /v1/audit/events``; ``after_id`` is the cursor (last entry id seen)."""

    partner: str | None = None
    action: str | None = None
    covenant: str | None = None
    decision: Decision | None = None
    recorded_from: datetime | None = None
    recorded_to: datetime | None = None
    pseudonym: str | None = None
    after_id: int = 0
    limit: int = DEFAULT_LIMIT

    def filters(self) -> dict[str, Any]:
        """The filters as recorded in the ``audit.searched`` entry (set ones only)."""
        named: dict[str, Any] = {
            "partner": self.partner,
            "action": self.action,
            "covenant": self.covenant,
            "decision": self.decision,
            "from": _timestamp(self.recorded_from),
            "to": _timestamp(self.recorded_to),
            "pseudonym": self.pseudonym,
        }
        return {name: value for name, value in named.items() if value is not None}


def parse_search(args: Mapping[str, str], *, in_url: bool = True) -> SearchQuery:
    """The search's filters. A pseudonym is refused in a URL (``in_url``): URLs end up in
    access logs and browser histories, so searches by pseudonym are POSTed."""
    errors = [
        FieldError(f"/{name}", "unknown parameter")
        for name in sorted(set(args) - SEARCH_PARAMETERS)
    ]
    if in_url and "pseudonym" in args:
        errors.append(FieldError("/pseudonym", "search by pseudonym with POST "
                                 "/v1/audit/events/search, so it stays out of URLs and logs"))
    texts = {}
    for name in ("partner", "action", "covenant", "pseudonym"):
        value, error = _text(args, name)
        texts[name] = value
        errors += error
    decision = args.get("decision")
    if decision is not None and decision not in ("allowed", "refused"):
        errors.append(FieldError("/decision", "either 'allowed' or 'refused'"))
    recorded_from, from_errors = _moment(args, "from", end_of_day=False)
    recorded_to, to_errors = _moment(args, "to", end_of_day=True)
    errors += from_errors + to_errors
    if recorded_from and recorded_to and recorded_from >= recorded_to:
        errors.append(FieldError("/to", "must lie after 'from'"))
    after_id, cursor_errors = _cursor(args.get("cursor"))
    limit, limit_errors = _limit(args.get("limit"))
    errors += cursor_errors + limit_errors
    format_ = args.get("format")
    if format_ is not None and format_ not in ("json", "csv"):
        errors.append(FieldError("/format", "either 'json' or 'csv'"))
    if errors:
        raise validation_failed(errors)
    return SearchQuery(
        partner=texts["partner"],
        action=texts["action"],
        covenant=texts["covenant"],
        decision=decision,  # type: ignore[arg-type]  # checked against both literals above
        recorded_from=recorded_from,
        recorded_to=recorded_to,
        pseudonym=texts["pseudonym"],
        after_id=after_id,
        limit=limit,
    )


def search_body(body: Mapping[str, Any]) -> Mapping[str, str]:
    """A POSTed search as the parameters of a GET: strings, and ``limit`` also as an integer."""
    errors = [FieldError(f"/{name}", "must be a string") for name, value in body.items()
              if not isinstance(value, str)
              and not (name == "limit" and type(value) is int)]
    if errors:
        raise validation_failed(errors)
    return {name: str(value) for name, value in body.items()}


def parse_size(value: str | None, name: str, *, minimum: int) -> int:
    """A tree size parameter: a decimal integer of at least ``minimum``."""
    if value is None:
        raise validation_failed([FieldError(f"/{name}", "required")])
    if not value.isascii() or not value.isdigit() or len(value) > 19:
        raise validation_failed([FieldError(f"/{name}", "a non-negative integer")])
    number = int(value)
    if number < minimum:
        raise validation_failed([FieldError(f"/{name}", f"at least {minimum}")])
    return number


def parse_consistency(args: Mapping[str, str]) -> tuple[int, int]:
    first = parse_size(args.get("first"), "first", minimum=0)
    second = parse_size(args.get("second"), "second", minimum=1)
    if first > second:
        raise validation_failed([FieldError("/first", "may not exceed 'second'")])
    return first, second


def encode_cursor(entry_id: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{entry_id}".encode()).decode().rstrip("=")


def _cursor(cursor: str | None) -> tuple[int, list[FieldError]]:
    if cursor is None:
        return 0, []
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = ""
    number = raw.removeprefix(_CURSOR_PREFIX)
    if not raw.startswith(_CURSOR_PREFIX) or not number.isdigit() or len(number) > 19:
        return 0, [FieldError("/cursor", "not a cursor this API issued")]
    return int(number), []


def _limit(value: str | None) -> tuple[int, list[FieldError]]:
    if value is None:
        return DEFAULT_LIMIT, []
    if value.isascii() and value.isdigit() and 1 <= int(value) <= MAX_LIMIT:
        return int(value), []
    return DEFAULT_LIMIT, [FieldError("/limit", f"an integer from 1 to {MAX_LIMIT}")]


def _text(args: Mapping[str, str], name: str) -> tuple[str | None, list[FieldError]]:
    value = args.get(name)
    if value is None:
        return None, []
    if not value or len(value) > MAX_TEXT_LENGTH or not value.isprintable():
        return None, [
            FieldError(f"/{name}", f"1 to {MAX_TEXT_LENGTH} printable characters")
        ]
    return value, []


def _moment(
    args: Mapping[str, str], name: str, *, end_of_day: bool
) -> tuple[datetime | None, list[FieldError]]:
    """A date (a Dutch calendar day) or a datetime with its UTC offset.

    ``from`` is inclusive. ``to`` is exclusive for a datetime and inclusive for a date: a
    search ``from=2026-11-01&to=2026-11-30`` covers the whole of November 30th.
    """
    value = args.get(name)
    if value is None:
        return None, []
    error = [FieldError(f"/{name}", "a date (YYYY-MM-DD) or a datetime with a UTC offset")]
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            if end_of_day:
                day += timedelta(days=1)
            return datetime.combine(day, time(), LOCAL_ZONE).astimezone(UTC), []
        moment = datetime.fromisoformat(value)
    except (ValueError, OverflowError):  # OverflowError: the day after 9999-12-31
        return None, error
    if moment.tzinfo is None:
        return None, error
    return moment.astimezone(UTC), []


def _timestamp(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")
