"""Request-body checks shared by the case and meeting endpoints: each fault names its field.

The checkers collect :class:`FieldError` s in one pass and the caller raises once, so a
partner's developer sees every fault at once and a bad request changes nothing.
"""

from __future__ import annotations

import re
from typing import Any

from gateway.problems import FieldError, validation_failed

UUID_PATTERN = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
PARTNER_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
# Free-text limits of cases and meetings, one constant each for validation and the OpenAPI.
MAX_REASON_LENGTH = 1000
MAX_INTERVENTION_LENGTH = 500
MAX_NOTE_LENGTH = 2000
MAX_TITLE_LENGTH = 200
MAX_QUESTION_LENGTH = 2000


class BodyReader:
    """Reads fields of one JSON object, recording a :class:`FieldError` for every fault."""

    def __init__(self, body: Any, allowed: set[str], required: set[str], pointer: str = "") -> None:
        self.errors: list[FieldError] = []
        self.pointer = pointer
        if not isinstance(body, dict):
            self.errors.append(FieldError(pointer or "/", "must be a JSON object"))
            body = {}
        self.body: dict[str, Any] = body
        for name in sorted(set(body) - allowed):
            self.errors.append(FieldError(f"{pointer}/{name}", "unknown field"))
        for name in sorted(required - set(body)):
            self.errors.append(FieldError(f"{pointer}/{name}", "required field is missing"))

    def text(self, name: str, max_length: int, pattern: re.Pattern[str] | None = None,
             choices: tuple[str, ...] | None = None) -> str | None:
        value = self.body.get(name)
        if value is None:
            return None
        where = f"{self.pointer}/{name}"
        if not isinstance(value, str) or not value.strip():
            self.errors.append(FieldError(where, "must be a non-empty string"))
        elif len(value) > max_length:
            self.errors.append(FieldError(where, f"at most {max_length} characters"))
        elif pattern is not None and not pattern.match(value):
            self.errors.append(FieldError(where, f"must match {pattern.pattern}"))
        elif choices is not None and value not in choices:
            self.errors.append(FieldError(where, f"must be one of {list(choices)}"))
        else:
            return value
        return None

    def required(self, name: str, max_length: int, pattern: re.Pattern[str] | None = None,
                 choices: tuple[str, ...] | None = None) -> str:
        """A required string field; empty when faulty, which :meth:`raise_if_faulty` reports
        before any caller gets to use it."""
        return self.text(name, max_length, pattern, choices) or ""

    def flag(self, name: str) -> bool | None:
        value = self.body.get(name)
        if value is None:
            return None
        if not isinstance(value, bool):
            self.errors.append(FieldError(f"{self.pointer}/{name}", "must be true or false"))
            return None
        return value

    def array(self, name: str, max_items: int) -> list[Any]:
        value = self.body.get(name)
        if value is None:
            return []
        if not isinstance(value, list) or not value:
            self.errors.append(FieldError(f"{self.pointer}/{name}", "must be a non-empty array"))
            return []
        if len(value) > max_items:
            self.errors.append(FieldError(f"{self.pointer}/{name}", f"at most {max_items} entries"))
            return []
        return value

    def fail(self, pointer: str, detail: str) -> None:
        self.errors.append(FieldError(pointer, detail))

    def raise_if_faulty(self) -> None:
        if self.errors:
            raise validation_failed(self.errors)
