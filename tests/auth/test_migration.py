"""The hand-written auth_0001 migration creates exactly what the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from gateway.models import metadata

AUTH_TABLES = {"oauth_client", "oauth_used_assertion"}


# Other packages' tables are other migrations' business; compare ours only, on both sides.
def _reflected_auth_tables(name: str | None, kind: str, _parents: object) -> bool:
    return kind != "table" or name in AUTH_TABLES


def _modelled_auth_tables(
    _object: object, name: str | None, kind: str, _reflected: bool, _compare_to: object
) -> bool:
    return kind != "table" or name in AUTH_TABLES


def test_migrated_schema_matches_the_models(connection: Connection) -> None:
    context = MigrationContext.configure(
        connection,
        opts={
            "compare_type": True,
            "include_name": _reflected_auth_tables,
            "include_object": _modelled_auth_tables,
        },
    )

    assert compare_metadata(context, metadata) == []
