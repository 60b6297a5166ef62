"""The migrations create exactly the schema the models describe, on every backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from gateway.models import metadata


def test_migrated_schema_matches_all_models(connection: Connection) -> None:
    context = MigrationContext.configure(connection, opts={"compare_type": True})

    assert compare_metadata(context, metadata) == []
