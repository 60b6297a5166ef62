"""The hand-written migration creates exactly the table the model describes."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from gateway.models import metadata


def test_migration_matches_the_model(connection: Connection) -> None:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    differences = [
        difference
        for difference in compare_metadata(context, metadata)
        if "identity_subject" in repr(difference)
    ]
    assert differences == []


def test_blind_index_is_unique_and_the_row_is_live_or_shredded(connection: Connection) -> None:
    inspector = inspect(connection)
    assert [c["column_names"] for c in inspector.get_unique_constraints("identity_subject")] == [
        ["blind_index"]
    ]
    checks = inspector.get_check_constraints("identity_subject")
    assert [c["name"] for c in checks] == ["ck_identity_subject_live_or_shredded"]
