"""Rights notices on push channels: the signed webhook carries them whole, e-mail never the
free text of an objection (it may name the person)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from gateway.outbox.interfaces import EMAIL, WEBHOOK
from gateway.rights.services import NoticeRenderer

OBJECTION = {"objection_id": "o1", "covenant": "riec-rr-mensenhandel", "from": "gemeente-x",
             "pseudonym": "PSN1-AAAAA", "grounds": "Jan Jansen, geboren 1 mei 1990, maakt bezwaar"}


def test_a_webhook_gets_the_whole_notice(session: Session) -> None:
    rendered = NoticeRenderer().render(session, "riec", OBJECTION, WEBHOOK)
    assert rendered.body["type"] == "subject.objection"
    assert rendered.body["grounds"] == OBJECTION["grounds"]


def test_an_email_only_says_a_notice_is_waiting(session: Session) -> None:
    rendered = NoticeRenderer().render(session, "riec", OBJECTION, EMAIL)
    assert "Jansen" not in str(rendered.body) + rendered.subject
    assert rendered.body == {"type": "subject.objection", "pseudonym": "PSN1-AAAAA",
                             "read_at": "GET /v1/inbox/notices"}
