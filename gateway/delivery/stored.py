"""How a delivery is kept at rest and turned back into what its recipient may see.

Item contents (art. 9/10 data among them) are sealed with the delivery id as associated data;
the categories and subject references stay readable, because the policy checks of a
re-identification need them and they say nothing a pseudonymised delivery does not. Deliveries
stored before sealing existed hold their contents in plain form and are served as they are.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.orm import Session

from gateway.identity.interfaces import SubjectShreddedError

SEALED_CONTENT = "sealed_content"
# What a recipient sees in place of the identity of a person whose identity was shredded.
SHREDDED = "shredded"


class ContentCipher(Protocol):
    def seal(self, document: Any, record_id: str) -> dict[str, Any]: ...

    def open(self, sealed: dict[str, Any], record_id: str) -> Any: ...


class IdentitySource(Protocol):
    def reveal(self, session: Session, subject_id: str) -> Any: ...

    def audit_pseudonym(self, subject_id: str) -> str: ...


def seal_contents(cipher: ContentCipher, delivery_id: str,
                  payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` with its items' contents replaced by one sealed list."""
    items = payload["items"]
    return {
        **payload,
        "items": [{k: v for k, v in item.items() if k != "content"} for item in items],
        SEALED_CONTENT: cipher.seal([item.get("content") for item in items], delivery_id),
    }


def open_items(cipher: ContentCipher, delivery_id: str,
               payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The delivery's items with their contents, for serving to its recipient."""
    items: list[dict[str, Any]] = payload["items"]
    if SEALED_CONTENT not in payload:
        return items
    contents = cipher.open(payload[SEALED_CONTENT], delivery_id)
    return [{**item, "content": content} for item, content in zip(items, contents, strict=True)]


def subject_view(
    vault: IdentitySource, session: Session, subject: dict[str, Any], identified: bool
) -> tuple[dict[str, Any], str | None]:
    """A subject as its recipient sees it, and the audit pseudonym of an identity disclosed.

    A shredded identity (erased by retention or the operator, also when it is the canonical
    subject of a confirmed link) shows as ``"identity": "shredded"``: nothing is disclosed,
    and the rest of the delivery is still served.
    """
    view = {"ref": subject["ref"], "role": subject["role"], "pseudonym": subject["pseudonym"]}
    if not identified:
        return view, None
    try:
        view["identifiers"] = dict(vault.reveal(session, subject["subject_id"]))
    except SubjectShreddedError:
        view["identity"] = SHREDDED
        return view, None
    return view, vault.audit_pseudonym(subject["subject_id"])
