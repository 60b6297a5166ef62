"""The drainer's scan for due dispatches reads only the pending ones.

Without it, PostgreSQL answered the scan with a sequential scan of every dispatch ever made
whenever a message was pending (50 ms at 300,000 delivered dispatches, on every poll).

Revision ID: outbox_0002
Revises: worklists_0001
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "outbox_0002"
down_revision = "worklists_0001"
branch_labels = None
depends_on = None

PENDING = sa.text("state = 'pending'")


def upgrade() -> None:
    op.create_index("ix_outbox_dispatches_due", "outbox_dispatches", ["next_attempt_at"],
                    postgresql_where=PENDING, sqlite_where=PENDING)


def downgrade() -> None:
    op.drop_index("ix_outbox_dispatches_due", table_name="outbox_dispatches")
