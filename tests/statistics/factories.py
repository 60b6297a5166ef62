"""What the statistics count, stored at chosen moments: many signals, cases and interventions
without a policy evaluation each, or the product clock moved for every one."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from gateway.cases.interfaces import CLOSED
from gateway.cases.models import Case, CaseAssignment
from gateway.exchange.models import Exchange
from tests.factories import RIEC, VLAARDINGEN


def stored_signal(created_at: datetime, *, sender: str = VLAARDINGEN,
                  process_step: str = "detectie", exploitation_form: str | None = "onbekend",
                  delivered: tuple[tuple[str, ...], ...] = (("uitbuitingssignalen",),),
                  status: str = "delivered") -> Exchange:
    """A signal whose answer held one decision per entry of ``delivered`` (the categories
    that recipient was delivered)."""
    exchange_id = str(uuid.uuid4())
    decisions: list[dict[str, Any]] = [
        {"recipient": RIEC, "allowed": bool(categories), "categories_delivered": list(categories)}
        for categories in delivered]
    return Exchange(id=exchange_id, sender=sender, client_id=f"{sender}-client",
                    covenant="riec-rr-mensenhandel", purpose="ketenaanpak-mensenhandel",
                    process_step=process_step, exploitation_form=exploitation_form,
                    status=status, request_digest="0" * 64, response_status=201,
                    response_body={"id": exchange_id, "decisions": decisions},
                    audit_event_id=str(uuid.uuid4()), created_at=created_at)


def stored_case(created_at: datetime, closed_at: datetime | None = None) -> Case:
    return Case(id=str(uuid.uuid4()), covenant="riec-rr-mensenhandel",
                step=CLOSED if closed_at else "dossiervorming", regie=RIEC,
                case_manager=VLAARDINGEN, created_at=created_at, updated_at=created_at,
                closed_at=closed_at)


def stored_assignment(case: Case, offered_at: datetime, *, partner: str, state: str
                      ) -> CaseAssignment:
    return CaseAssignment(id=str(uuid.uuid4()), case_id=case.id, partner=partner,
                          intervention="huisbezoek", priority="normaal", state=state,
                          offered_at=offered_at)
