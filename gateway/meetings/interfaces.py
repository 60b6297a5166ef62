"""The meeting contract: the four agenda views and what the meeting room needs from others."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.orm import Session

from gateway.policy.covenants import PolicyBundle

HIDDEN = "hidden"
TITLE_ONLY = "title_only"
PSEUDONYMISED = "pseudonymised"
FULL = "full"
#: From least to most: a participant sees an item at exactly one of these levels.
VIEWS = (HIDDEN, TITLE_ONLY, PSEUDONYMISED, FULL)

#: The outbox kind of one participant's agenda view.
AGENDA_VIEW_KIND = "agenda.view"

DRAFT = "draft"
PUBLISHED = "published"


class AgendaOutbox(Protocol):
    """The transactional outbox: a message written in the caller's transaction, delivered to
    the recipient's configured channels after commit; a repeated key is queued once."""

    def enqueue(self, session: Session, *, kind: str, recipient: str, payload: dict[str, Any],
                idempotency_key: str) -> str: ...


#: The inbox titles of a participant's first and of a changed agenda view.
AGENDA_TITLES = {"agenda.published": "Er is een agenda voor het casusoverleg gepubliceerd",
                 "agenda.changed": "Uw agenda voor het casusoverleg is gewijzigd"}


class AgendaNotifier(Protocol):
    """The inbox: a participant reads its agenda view there too."""

    def record(self, session: Session, *, recipient: str, kind: str, content: dict[str, Any],
               case_id: str | None = None, meeting_id: str | None = None) -> str: ...


class AgendaPolicy(Protocol):
    """Raw evaluation of a policy entrypoint: (bundle hash, value); raises on engine failure."""

    @property
    def bundle(self) -> PolicyBundle: ...

    def evaluate(self, entrypoint: str, input: dict[str, Any]) -> tuple[str, Any]: ...
