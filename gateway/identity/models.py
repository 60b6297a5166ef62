"""The identity vault's table: one row per person, encrypted, findable only by keyed hash.

A live row holds the blind index, the wrapped data key and the ciphertext. Shredding a subject
clears all three (and the master key version) and stamps ``shredded_at``; the row stays as a
tombstone so that the subject id still resolves to "erased" rather than to "never existed". The
check constraint makes a half-shredded row impossible.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base, UTCDateTime, record_time

SUBJECT_ID_LENGTH = 36
BLIND_INDEX_LENGTH = 64
WRAPPED_KEY_LENGTH = 40
NONCE_LENGTH = 12

LIVE_OR_SHREDDED = (
    "(shredded_at IS NULL AND blind_index IS NOT NULL AND master_key_version IS NOT NULL"
    " AND wrapped_data_key IS NOT NULL AND nonce IS NOT NULL AND ciphertext IS NOT NULL)"
    " OR (shredded_at IS NOT NULL AND blind_index IS NULL AND master_key_version IS NULL"
    " AND wrapped_data_key IS NULL AND nonce IS NULL AND ciphertext IS NULL)"
)


class Subject(Base):
    """A person known to the gateway.

    * ``blind_index``: HMAC-SHA256 (hex) of the person's subject key; finds the person again
      without storing anything reversible.
    * ``wrapped_data_key``: the subject's own AES-256 key, wrapped (RFC 3394) by version
      ``master_key_version`` of the keyring's identity master key.
    * ``ciphertext``: AES-256-GCM of the canonical JSON identifiers under the data key, with the
      subject id as associated data, so a ciphertext copied into another row does not decrypt.
    """

    __tablename__ = "identity_subject"
    __table_args__ = (CheckConstraint(LIVE_OR_SHREDDED, name="live_or_shredded"),)

    id: Mapped[str] = mapped_column(String(SUBJECT_ID_LENGTH), primary_key=True)
    blind_index: Mapped[str | None] = mapped_column(String(BLIND_INDEX_LENGTH), unique=True)
    master_key_version: Mapped[int | None] = mapped_column(Integer)
    wrapped_data_key: Mapped[bytes | None] = mapped_column(LargeBinary(WRAPPED_KEY_LENGTH))
    nonce: Mapped[bytes | None] = mapped_column(LargeBinary(NONCE_LENGTH))
    ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=record_time)
    shredded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def is_shredded(self) -> bool:
        return self.shredded_at is not None


class SubjectAlias(Base):
    """A subject key the person was filed under before a rectification changed it (a former
    family name with the same birth date), so what still carries that name finds them.

    ``ciphertext`` is the former key sealed (AES-256-GCM) under the subject's own data key,
    bound to the subject: readable only through the vault, gone when the subject is shredded.
    """

    __tablename__ = "identity_subject_alias"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subject_id: Mapped[str] = mapped_column(ForeignKey("identity_subject.id"), index=True)
    nonce: Mapped[bytes] = mapped_column(LargeBinary(NONCE_LENGTH))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=record_time)


class Reidentification(Base):
    """One request to see the identity behind a pseudonym, whatever became of it.

    ``status``: ``refused`` (the policy said no), ``pending`` (waiting for a second person of the
    same partner), ``approved`` (the requester may fetch the identity once) or ``released``.
    The row names the subject by its opaque vault id and holds the requester's free-text reason,
    which the audit entries refer to by the row's id. Rows in the last period count towards the
    partner's re-identification limit, refused ones included, so probing pseudonyms costs.
    """

    __tablename__ = "identity_reidentification"
    __table_args__ = (
        Index("ix_identity_reidentification_partner_created", "partner", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    partner: Mapped[str] = mapped_column(String(128))
    client_id: Mapped[str] = mapped_column(String(64))
    pseudonym: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[str | None] = mapped_column(String(SUBJECT_ID_LENGTH))
    case_id: Mapped[str | None] = mapped_column(String(36))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    requires_approval: Mapped[bool] = mapped_column(Boolean)
    approved_by: Mapped[str | None] = mapped_column(String(64))
    bundle_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=record_time)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
