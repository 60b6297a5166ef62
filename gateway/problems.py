"""Domain errors that the web layer renders as RFC 9457 problem details.

Domain code raises these; it never builds HTTP responses. Each carries the HTTP status it maps
to, a stable ``type`` slug, and field-level errors as JSON pointers into the request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PROBLEM_BASE = "https://ketenpoort.local/problems/"


@dataclass(frozen=True)
class FieldError:
    pointer: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"pointer": self.pointer, "detail": self.detail}


@dataclass
class Problem(Exception):
    status: int
    slug: str
    title: str
    detail: str = ""
    errors: list[FieldError] = field(default_factory=list)
    extensions: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.title}: {self.detail}"

    def as_dict(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.slug,
            "title": self.title,
            "status": self.status,
        }
        if self.detail:
            body["detail"] = self.detail
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = [e.as_dict() for e in self.errors]
        body.update(self.extensions)
        return body


def validation_failed(errors: list[FieldError], detail: str = "") -> Problem:
    return Problem(
        422,
        "validation-failed",
        "Request failed validation",
        detail or "; ".join(f"{e.pointer}: {e.detail}" for e in errors),
        errors,
    )


def bad_request(slug: str, title: str, detail: str, pointer: str = "") -> Problem:
    errors = [FieldError(pointer, detail)] if pointer else []
    return Problem(400, slug, title, detail, errors)


def not_found(what: str, detail: str) -> Problem:
    return Problem(404, f"{what}-not-found", f"{what.capitalize()} not found", detail)


def unauthorized(detail: str) -> Problem:
    return Problem(
        401,
        "unauthorized",
        "Authentication required",
        detail,
        headers={"WWW-Authenticate": 'Bearer realm="ketenpoort", error="invalid_token"'},
    )


def forbidden(slug: str, detail: str, **extensions: Any) -> Problem:
    return Problem(403, slug, "Forbidden", detail, extensions=extensions)


def conflict(slug: str, detail: str) -> Problem:
    return Problem(409, slug, "Conflict", detail)


def unavailable(slug: str, detail: str) -> Problem:
    return Problem(503, slug, "Service unavailable", detail, headers={"Retry-After": "30"})
