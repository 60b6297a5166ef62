"""What each kind of outbox message looks like on a push channel.

``exchange.delivery`` rows hold only a delivery id; the view is rendered at send time from the
stored delivery, like the inbox renders it: pseudonyms always, identifiers only on the signed
webhook, only for the persons the decision delivered ``identified`` and only as the exchange
sent them, a shredded identity as ``shredded``. Other kinds carry their recipient's finished
view in the payload and are sent as is.

An e-mail is read by a person, possibly on a phone or a shared screen: it is a short Dutch
text saying what happened, with a link into the workspace, and carries no pseudonym, no
identifier and no content; whoever may read more signs in to read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.delivery.models import Delivery
from gateway.delivery.stored import ContentCipher, IdentitySource, recipient_view
from gateway.outbox.interfaces import EMAIL, WEBHOOK, Rendered

EXCHANGE_DELIVERY = "exchange.delivery"
AGENDA_VIEW = "agenda.view"
INBOX_PATH = "/werkruimte/inbox"

#: kind -> (subject, the sentence saying what happened)
EMAIL_TEXTS = {
    EXCHANGE_DELIVERY: ("Nieuwe levering in Ketenpoort",
                        "Er staat een nieuwe levering van een ketenpartner voor u klaar."),
    AGENDA_VIEW: ("Agenda casusoverleg", "Er is een (gewijzigde) agenda voor een casusoverleg "
                  "waaraan u deelneemt voor u klaargezet."),
    "case.manager_appointed": ("U bent casusregisseur",
                               "U bent aangewezen als casusregisseur van een nieuwe casus."),
    "case.intervention_offered": ("Interventie aangeboden",
                                  "Er is uw organisatie een interventie in een casus "
                                  "aangeboden. Wilt u die aanvaarden of afwijzen?"),
    "case.intervention_accepted": ("Interventie aanvaard",
                                   "Een ketenpartner heeft een interventie in een casus "
                                   "aanvaard en ingepland."),
    "case.intervention_declined": ("Interventie afgewezen",
                                   "Een ketenpartner heeft een interventie in een casus "
                                   "afgewezen."),
    "case.deadline_passed": ("Termijn verstreken",
                             "De termijn van de huidige processtap van een casus is "
                             "verstreken."),
}
FALLBACK_TEXT = ("Bericht van Ketenpoort", "Er staat een nieuw bericht voor u klaar.")


@dataclass(frozen=True)
class EmailText:
    """The Dutch e-mail for one kind of message, linking into the workspace at ``base_url``."""

    base_url: str

    def render(self, kind: str, path: str) -> Rendered:
        subject, sentence = EMAIL_TEXTS.get(kind, FALLBACK_TEXT)
        link = f"{self.base_url.rstrip('/')}{path}"
        text = (f"Goedendag,\n\n{sentence}\n\nU leest het in de werkruimte van Ketenpoort:\n"
                f"{link}\n\nDit bericht noemt bewust geen personen of andere gegevens; u ziet "
                "die pas na inloggen.\n\nKetenpoort\n")
        return Rendered(subject=f"Ketenpoort: {subject}", body={"type": kind, "link": link},
                        text=text)


@dataclass(frozen=True)
class PayloadAsIs:
    """A finished view, sent as is; by e-mail only the Dutch notice with its link."""

    email: EmailText

    def render(
        self, session: Session, recipient: str, payload: dict[str, Any], channel: str
    ) -> Rendered:
        if channel == EMAIL:
            return self.email.render(str(payload.get("type", "")), _workspace_path(payload))
        return Rendered(subject=f"Ketenpoort: {payload.get('title', 'new message')}",
                        body=payload)


@dataclass
class ExchangeDeliveryRenderer:
    vault: IdentitySource
    content: ContentCipher
    email: EmailText

    def render(
        self, session: Session, recipient: str, payload: dict[str, Any], channel: str
    ) -> Rendered:
        if channel == EMAIL:
            return self.email.render(EXCHANGE_DELIVERY, INBOX_PATH)
        delivery = session.scalars(
            select(Delivery).where(Delivery.id == payload["delivery_id"],
                                   Delivery.recipient == recipient)
        ).one()
        view, disclosed = recipient_view(self.vault, self.content, session, delivery,
                                         identified_channel=channel == WEBHOOK)
        body = {"type": EXCHANGE_DELIVERY, **view}
        return Rendered(subject=f"Ketenpoort: delivery from {delivery.sender}", body=body,
                        identities_disclosed=disclosed)


def _workspace_path(payload: dict[str, Any]) -> str:
    """The workspace page of the message: its own link, an agenda's page, else the inbox."""
    link = payload.get("link")
    if isinstance(link, str) and link.startswith("/werkruimte/"):
        return link
    if payload.get("type") == AGENDA_VIEW and isinstance(payload.get("meeting_id"), str):
        return f"/werkruimte/agenda/{payload['meeting_id']}"
    return INBOX_PATH
