"""linkage: filters in the field-level layout; filters and buckets of the old layout go.

Revision ID: linkage_0003
Revises: linkage_0002
Create Date: 2026-12-06

The encoding changed from one 1024-bit record-level filter to field-level segments
(``gateway.linkage.encoding.SEGMENTS``) with new blocking keys; an old filter compared with a
new one would give a meaningless score. Filters and buckets are derived data, and a migration
holds no keyring to decrypt identities and encode them again, so they are deleted: each subject
is encoded again, in the new layout, the next time an exchange names it (as after a rotation of
the linkage key). Candidates, decisions and links stay as they are.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "linkage_0003"
down_revision = "linkage_0002"
branch_labels = None
depends_on = None

_DERIVED = ("linkage_blocks", "linkage_records")


def upgrade() -> None:
    _forget_filters()


def downgrade() -> None:
    # The old code cannot read the new layout either.
    _forget_filters()


def _forget_filters() -> None:
    for table in _DERIVED:
        op.execute(sa.table(table).delete())
