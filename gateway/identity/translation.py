"""Translating a partner's old pseudonyms to its current ones after a pseudonym key rotation.

Only pseudonyms the broker delivered to that very partner are translated: the deliveries to the
partner are the only place a pseudonym is looked up, so no partner can learn anything about
another partner's pseudonyms, or about persons it never received.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gateway.db import transaction
from gateway.delivery.models import Delivery
from gateway.ports import AuditAppender, AuditPseudonyms, PseudonymSource
from gateway.problems import FieldError, validation_failed

MAX_PSEUDONYMS = 100
MAX_PSEUDONYM_LENGTH = 64





@dataclass
class PseudonymTranslation:
    session_factory: sessionmaker[Session]
    pseudonyms: PseudonymSource
    audit_pseudonyms: AuditPseudonyms
    audit: AuditAppender

    def translate(self, partner: str, client_id: str, body: Any) -> dict[str, Any]:
        wanted = parse_translation(body)
        with transaction(self.session_factory) as session:
            known = delivered_pseudonyms(session, partner, set(wanted))
            translations = [
                {"pseudonym": old, "current": self.pseudonyms.pseudonym(known[old], partner)}
                for old in wanted if old in known
            ]
            not_found = [old for old in wanted if old not in known]
            event_id = self.audit.append(session, {
                "action": "pseudonyms.translated",
                "actor": {"partner": partner, "client": client_id},
                "subjects": sorted({self.audit_pseudonyms.audit_pseudonym(known[old])
                                    for old in wanted if old in known}),
                "not_found": len(not_found),
            })
        return {"translations": translations, "not_found": not_found,
                "audit_event_id": event_id}


def delivered_pseudonyms(session: Session, partner: str, wanted: set[str]) -> dict[str, str]:
    """Pseudonym -> subject id, for the wanted pseudonyms found in deliveries to ``partner``."""
    found: dict[str, str] = {}
    for payload in session.scalars(select(Delivery.payload).where(Delivery.recipient == partner)):
        for subject in payload.get("subjects", []):
            if subject.get("pseudonym") in wanted:
                found[subject["pseudonym"]] = subject["subject_id"]
    return found


def parse_translation(body: Any) -> list[str]:
    if not isinstance(body, dict):
        raise validation_failed([FieldError("", "must be a JSON object")])
    unknown = [FieldError(f"/{name}", "unknown field") for name in body if name != "pseudonyms"]
    pseudonyms = body.get("pseudonyms")
    if not isinstance(pseudonyms, list) or not 0 < len(pseudonyms) <= MAX_PSEUDONYMS:
        raise validation_failed([*unknown, FieldError(
            "/pseudonyms", f"a list of 1 to {MAX_PSEUDONYMS} pseudonyms")])
    errors = unknown + [
        FieldError(f"/pseudonyms/{index}", f"a string of 1 to {MAX_PSEUDONYM_LENGTH} characters")
        for index, value in enumerate(pseudonyms)
        if not isinstance(value, str) or not 0 < len(value) <= MAX_PSEUDONYM_LENGTH
    ]
    if errors:
        raise validation_failed(errors)
    return list(dict.fromkeys(pseudonyms))
