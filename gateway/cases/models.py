"""Case rows: the case, its signals, its subjects (vault ids and case-local aliases only),
its interventions and their progress. No identifiers are stored here."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base, UTCDateTime, record_time


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    covenant: Mapped[str] = mapped_column(String(128))
    step: Mapped[str] = mapped_column(String(32))
    regie: Mapped[str] = mapped_column(String(128))
    case_manager: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=record_time)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=record_time)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When the current step began and, where the covenant sets a term for it, when it is due.
    step_entered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    step_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    #: Set once the "deadline passed" message for the current step is queued.
    overdue_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CaseSignal(Base):
    """An earlier exchange the case was built from; a signal without one ages out."""

    __tablename__ = "case_signals"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    exchange_id: Mapped[str] = mapped_column(ForeignKey("exchanges.id"), primary_key=True,
                                             index=True)


class CaseSubject(Base):
    __tablename__ = "case_subjects"
    __table_args__ = (UniqueConstraint("case_id", "alias"),)

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    subject_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    role: Mapped[str] = mapped_column(String(32))
    alias: Mapped[str] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(Integer)


class CaseAssignment(Base):
    __tablename__ = "case_assignments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    partner: Mapped[str] = mapped_column(String(128))
    intervention: Mapped[str] = mapped_column(String(500))
    priority: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(1000))
    offered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=record_time)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The vault ids of the persons the intervention concerns; empty for the case as a whole.
    subject_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: The partner's own planning, set when it accepts.
    planned_start: Mapped[date | None] = mapped_column(Date)
    planned_end: Mapped[date | None] = mapped_column(Date)


class CaseProgress(Base):
    __tablename__ = "case_progress"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    assignment_id: Mapped[str] = mapped_column(ForeignKey("case_assignments.id"), index=True)
    note: Mapped[str] = mapped_column(String(2000))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=record_time)
