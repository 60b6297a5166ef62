"""linkage_0003 forgets filters and buckets of the old layout; candidates and links stay."""

from __future__ import annotations

from alembic import command
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from gateway.db import alembic_config
from gateway.linkage.models import LinkageBlock, LinkageCandidate, LinkageRecord
from tests.factories import PIETER
from tests.linkage.test_linkage_api import PIETER_MISSPELT, _send

OLD_FILTER_BYTES = 128


def _count(session: Session, model: type[object]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_old_filters_and_buckets_go_and_candidates_stay(
    gateway_app: Flask, http: FlaskClient, session: Session, connection: Connection
) -> None:
    _send(gateway_app, http, PIETER)
    _send(gateway_app, http, PIETER_MISSPELT)
    command.downgrade(alembic_config(connection), "linkage_0002")
    subject_id = session.scalars(select(LinkageCandidate.subject_a)).one()
    session.add(LinkageRecord(subject_id=subject_id, key_version=1,
                              bloom=bytes(OLD_FILTER_BYTES)))
    session.add(LinkageBlock(block_key="0" * 32, subject_id=subject_id))
    session.commit()

    command.upgrade(alembic_config(connection), "heads")

    session.expire_all()
    assert _count(session, LinkageRecord) == 0
    assert _count(session, LinkageBlock) == 0
    assert _count(session, LinkageCandidate) == 1
