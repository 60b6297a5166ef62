"""Rights requests and the subjects each one covers; no identifiers are stored here.

* ``rights_requests``: one rectification, restriction or objection, by the privacy officer of
  ``partner`` through ``client_id``. ``status``: ``recorded`` (rectification, objection),
  ``active``, ``lift-pending`` (a first officer asked to lift; a second must approve) or
  ``lifted`` (restriction). ``sealed``: an objection's grounds, sealed under the
  content key with the request id as associated data (a rectification's corrected values live
  only in the vault, under the person's own key); ``audit_pseudonym`` names the person as
  the log does.
* ``rights_subjects``: the vault subject ids the request covers (every subject key and
  confirmed link of the person when it was made); a restriction withholds each of them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base, UTCDateTime, record_time

RECTIFICATION = "rectification"
RESTRICTION = "restriction"
OBJECTION = "objection"
RECORDED = "recorded"
ACTIVE = "active"
LIFT_PENDING = "lift-pending"
LIFTED = "lifted"
#: Restriction states that withhold the person's data from new exchanges.
WITHHOLDING = (ACTIVE, LIFT_PENDING)


class RightsRequest(Base):
    __tablename__ = "rights_requests"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    partner: Mapped[str] = mapped_column(String(128), index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    covenant: Mapped[str | None] = mapped_column(String(128))
    audit_pseudonym: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    sealed: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=record_time)
    lift_requested_by: Mapped[str | None] = mapped_column(String(64))
    lifted_by: Mapped[str | None] = mapped_column(String(64))
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RightsSubject(Base):
    __tablename__ = "rights_subjects"

    request_id: Mapped[str] = mapped_column(ForeignKey("rights_requests.id"), primary_key=True)
    subject_id: Mapped[str] = mapped_column(String(36), primary_key=True, index=True)
