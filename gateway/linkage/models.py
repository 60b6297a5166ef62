"""Linkage tables: each person's keyed Bloom filter, its blocking keys, candidate pairs, aliases.

* ``linkage_records``: one filter per subject, under version ``key_version`` of the keyring's
  "linkage" key, sealed under a key derived from it (``BloomEncoder.sealed``); filters under
  different versions are never compared.
* ``linkage_blocks``: the keyed bucket names of each subject; only subjects sharing a bucket are
  compared, which keeps candidate generation far from quadratic.
* ``linkage_candidates``: pairs (stored with ``subject_a < subject_b``) whose similarity reached
  the threshold, waiting for or carrying the reviewers' decision; ``too_many_look_alikes``
  marks pairs proposed while intake compared only a bounded share of a crowded bucket.
  Confirming takes two reviewers: the first confirmation is recorded in ``first_confirmed_*``
  and the pair stays pending until a different reviewer confirms. A rejected (or unlinked)
  pair stays, so the same pair is never proposed again.
* ``linkage_covenants``: every covenant each subject was exchanged under; a reviewer sees and
  decides only pairs both of whose subjects were exchanged under a covenant it is regie of.
* ``linkage_aliases``: confirmed links. Every merged subject points at its canonical subject;
  the table is kept flat (an alias never points at another alias), so resolving is one lookup.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base, UTCDateTime, record_time
from gateway.linkage.encoding import BLOCK_KEY_BYTES, SEALED_FILTER_BYTES

SUBJECT = "identity_subject.id"
STATUS_VALUES = "status IN ('pending', 'confirmed', 'rejected')"


class LinkageRecord(Base):
    __tablename__ = "linkage_records"

    subject_id: Mapped[str] = mapped_column(ForeignKey(SUBJECT), primary_key=True)
    key_version: Mapped[int] = mapped_column(Integer)
    bloom: Mapped[bytes] = mapped_column(LargeBinary(SEALED_FILTER_BYTES))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=record_time)


class LinkageBlock(Base):
    __tablename__ = "linkage_blocks"

    block_key: Mapped[str] = mapped_column(String(2 * BLOCK_KEY_BYTES), primary_key=True)
    subject_id: Mapped[str] = mapped_column(ForeignKey(SUBJECT), primary_key=True, index=True)


class LinkageCandidate(Base):
    __tablename__ = "linkage_candidates"
    __table_args__ = (
        UniqueConstraint("subject_a", "subject_b"),
        CheckConstraint("subject_a < subject_b", name="ordered_pair"),
        CheckConstraint(STATUS_VALUES, name="known_status"),
        Index("ix_linkage_candidates_status_score", "status", "score"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subject_a: Mapped[str] = mapped_column(ForeignKey(SUBJECT))
    subject_b: Mapped[str] = mapped_column(ForeignKey(SUBJECT), index=True)
    score: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=record_time)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(128))
    first_confirmed_by: Mapped[str | None] = mapped_column(String(64))
    first_confirmed_partner: Mapped[str | None] = mapped_column(String(128))
    first_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Proposed while one of the two had more look-alikes than intake compares (see
    # gateway.linkage.services.MAX_COMPARED_PER_BLOCK): other pairs may be missing.
    too_many_look_alikes: Mapped[bool] = mapped_column(Boolean, default=False,
                                                       server_default=false())


class LinkageCovenant(Base):
    __tablename__ = "linkage_covenants"

    subject_id: Mapped[str] = mapped_column(ForeignKey(SUBJECT), primary_key=True)
    covenant: Mapped[str] = mapped_column(String(128), primary_key=True, index=True)


class LinkageAlias(Base):
    __tablename__ = "linkage_aliases"

    subject_id: Mapped[str] = mapped_column(ForeignKey(SUBJECT), primary_key=True)
    canonical_subject_id: Mapped[str] = mapped_column(ForeignKey(SUBJECT), index=True)
    candidate_id: Mapped[str] = mapped_column(ForeignKey("linkage_candidates.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=record_time)
