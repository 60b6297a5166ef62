"""Meeting rows: the meeting, its participants, its agenda items and, per participant, the
agenda view last published to it (what it was sent, so a new version notifies only those
whose view changed)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base, UTCDateTime, record_time


class Meeting(Base):
    __tablename__ = "meetings"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    covenant: Mapped[str] = mapped_column(String(128))
    regie: Mapped[str] = mapped_column(String(128))
    held_on: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=record_time)


class MeetingParticipant(Base):
    __tablename__ = "meeting_participants"

    meeting_id: Mapped[str] = mapped_column(ForeignKey("meetings.id"), primary_key=True)
    partner: Mapped[str] = mapped_column(String(128), primary_key=True)


class AgendaItem(Base):
    __tablename__ = "agenda_items"
    __table_args__ = (UniqueConstraint("meeting_id", "position"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    meeting_id: Mapped[str] = mapped_column(ForeignKey("meetings.id"), index=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    question: Mapped[str] = mapped_column(String(2000))
    proposed_decision: Mapped[str] = mapped_column(String(2000))
    outcome_approach: Mapped[str | None] = mapped_column(String(500))
    outcome_partner: Mapped[str | None] = mapped_column(String(128))
    outcome_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The vault ids of the persons the outcome concerns; empty for the case as a whole.
    outcome_subject_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)


class PublishedView(Base):
    __tablename__ = "agenda_published_views"

    meeting_id: Mapped[str] = mapped_column(ForeignKey("meetings.id"), primary_key=True)
    partner: Mapped[str] = mapped_column(String(128), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))
    view: Mapped[dict[str, Any]] = mapped_column(JSON)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=record_time)
