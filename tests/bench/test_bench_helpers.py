"""The benchmark harness's own arithmetic and its floor app: wrong here means wrong numbers."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bench.exchange_bench import memory_growth
from bench.floor_app import FLOOR_TABLE, FloorApp, create_floor_table
from bench.loadgen import percentile
from gateway import db
from gateway.auth.services import ClientService, TokenService
from gateway.instance import initialise
from gateway.keys import Keyring
from gateway.settings import Settings


def test_percentile_is_nearest_rank() -> None:
    latencies = [float(n) for n in range(1, 101)]
    assert percentile(latencies, 50) == 50.0
    assert percentile(latencies, 99) == 99.0
    assert percentile(latencies, 100) == 100.0
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) == 0.0


def _samples(rss_by_step: list[int]) -> list[dict[str, Any]]:
    return [{"exchanges": step * 1000, "rss_kib": {1: rss, 2: rss}}
            for step, rss in enumerate(rss_by_step)]


def test_memory_growth_separates_warm_up_from_a_leak() -> None:
    flat_after_warm_up = memory_growth(_samples([100_000, 121_000, 121_000, 121_000, 121_000]))
    assert flat_after_warm_up["growth_pct_from_start"] == pytest.approx(21.0)
    assert flat_after_warm_up["growth_pct_after_first_quarter"] == 0.0
    leaking = memory_growth(_samples([100_000, 110_000, 120_000, 130_000, 140_000]))
    assert leaking["growth_pct_after_first_quarter"] == pytest.approx(27.27, abs=0.01)
    assert leaking["trend_kib_per_10k_exchanges_second_half"] == pytest.approx(100_000.0)


def _call(app: FloorApp, authorization: str, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    payload = json.dumps(body).encode()
    environ = {"HTTP_AUTHORIZATION": authorization, "CONTENT_LENGTH": str(len(payload)),
               "wsgi.input": io.BytesIO(payload)}
    answered: list[str] = []
    chunks = app(environ, lambda status, _headers: answered.append(status))
    return answered[0], json.loads(b"".join(chunks))


def test_the_floor_checks_the_gateway_token_and_stores_one_row(tmp_path: Path) -> None:
    settings = Settings(instance_path=tmp_path)
    instance = initialise(settings)
    create_floor_table(settings.database_url)
    with db.transaction(instance.session_factory) as session:
        client, _secret = ClientService().create(
            session, "gemeente-vlaardingen", ["exchange:write"], instance.known_partners
        )
        token = TokenService(Keyring.load(settings.keyring_path), settings.issuer,
                             settings.audience, 60).issue(client)["access_token"]
    app = FloorApp(settings)
    assert _call(app, "Bearer not-a-token", {"x": 1})[0] == "401 Unauthorized"
    forged = TokenService(Keyring.generate(), settings.issuer, settings.audience, 60)
    assert _call(app, f"Bearer {forged.issue(client)['access_token']}", {})[0].startswith("401")
    status, answer = _call(app, f"Bearer {token}", {"x": 1})
    assert status == "201 Created"
    with db.read_only(instance.session_factory) as session:
        rows = session.execute(text(f"SELECT id, sender, body FROM {FLOOR_TABLE}")).all()  # noqa: S608 -- fixed table name
    assert [tuple(r) for r in rows] == [(answer["id"], "gemeente-vlaardingen", '{"x": 1}')]
