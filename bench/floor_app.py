"""The floor: the cheapest app that could stand in for ``POST /v1/exchanges``. Not in the product.

It checks the same bearer JWT (same Ed25519 key from the instance's keyring, same joserfc
verification through :class:`TokenService`) and durably inserts one row holding the body, on
the same database with the same connection settings as the gateway. Nothing else: no policy,
no vault, no audit, no per-recipient deliveries. Served like the gateway:

    KETENPOORT_INSTANCE=... KETENPOORT_DATABASE_URL=... \
        gunicorn -w 2 -k gthread --threads 4 'bench.floor_app:create_floor_app()'
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from gateway.auth.interfaces import InvalidToken
from gateway.auth.services import TokenService
from gateway.db import make_engine
from gateway.keys import Keyring
from gateway.settings import Settings

FLOOR_TABLE = "bench_floor_rows"
StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def create_floor_table(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            f"CREATE TABLE IF NOT EXISTS {FLOOR_TABLE} "
            "(id VARCHAR(36) PRIMARY KEY, sender VARCHAR(64) NOT NULL, body TEXT NOT NULL)"
        )
    engine.dispose()


class FloorApp:
    def __init__(self, settings: Settings) -> None:
        self._tokens = TokenService(
            Keyring.load(settings.keyring_path), settings.issuer, settings.audience,
            settings.access_token_ttl_seconds,
        )
        # The gateway's own engine factory: the same pragmas on SQLite (WAL, the same
        # synchronous setting, BEGIN IMMEDIATE) and the same driver on PostgreSQL, so
        # durability is equal on both sides of the comparison.
        self._engine = make_engine(settings.database_url,
                                   sqlite_synchronous=settings.sqlite_synchronous)
        self._local = threading.local()
        self._paramstyle = "?" if settings.database_url.startswith("sqlite") else "%s"

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        header = environ.get("HTTP_AUTHORIZATION", "")
        scheme, _, token = header.partition(" ")
        try:
            if scheme.lower() != "bearer":
                raise InvalidToken("no bearer token")
            principal = self._tokens.verify(token.strip(), lambda _client_id: False)
        except InvalidToken:
            return _answer(start_response, "401 Unauthorized", {"title": "Unauthorized"})
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.loads(environ["wsgi.input"].read(length))
        row_id = str(uuid.uuid4())
        self._insert(row_id, principal.partner_id, json.dumps(body))
        return _answer(start_response, "201 Created", {"id": row_id})

    def _insert(self, row_id: str, sender: str, body: str) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = self._engine.raw_connection()
        marks = ", ".join([self._paramstyle] * 3)
        cursor = connection.cursor()
        if self._paramstyle == "?":
            # The gateway's SQLite connections run in autocommit mode and begin explicitly.
            cursor.execute("BEGIN IMMEDIATE")
        cursor.execute(f"INSERT INTO {FLOOR_TABLE} (id, sender, body) VALUES ({marks})",  # noqa: S608 -- fixed table name, values bound
                       (row_id, sender, body))
        if self._paramstyle == "?":
            cursor.execute("COMMIT")
        else:
            connection.commit()
        cursor.close()


def _answer(start_response: StartResponse, status: str, body: dict[str, str]) -> list[bytes]:
    payload = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(payload)))])
    return [payload]


def create_floor_app() -> FloorApp:
    settings = Settings.from_env()
    create_floor_table(settings.database_url)
    return FloorApp(settings)
