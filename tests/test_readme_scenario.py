"""The README's scenario against a real ``ketenpoort serve`` on the embedded default.

Runs the console script in subprocesses exactly as a newcomer would: ``init --demo`` creates the
instance and demo clients, ``serve`` starts gunicorn on a free loopback port, and the scenario
goes over HTTP: token, exchange, inbox, acknowledgement.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TEST_TODAY
from tests.factories import RIEC, VLAARDINGEN, exchange_body


def _console_script() -> str:
    """The installed ``ketenpoort`` script: beside this interpreter, else on PATH.

    pyenv's shims only learn a new script after a rehash, so PATH alone can miss it; a missing
    script is a broken install, and this test must fail on it rather than skip.
    """
    beside = Path(sys.executable).with_name("ketenpoort")
    found = str(beside) if beside.exists() else shutil.which("ketenpoort")
    if found is None:
        pytest.fail("the ketenpoort console script is not installed (pip install -e .)")
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _request(url: str, *, data: bytes | None = None, headers: dict[str, str] | None = None
             ) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=data, headers=headers or {})  # noqa: S310  # loopback test server
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310  # loopback test server
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, test_policies_path: Path
           ) -> Iterator[tuple[str, Path]]:
    instance = tmp_path_factory.mktemp("instance")
    env = {**os.environ, "KETENPOORT_INSTANCE": str(instance),
           "KETENPOORT_CLOCK_START": TEST_TODAY.isoformat(),
           "KETENPOORT_POLICIES_PATH": str(test_policies_path)}
    env.pop("KETENPOORT_DATABASE_URL", None)
    ketenpoort = _console_script()
    subprocess.run([ketenpoort, "init", "--demo"], env=env, check=True, timeout=120)  # noqa: S603  # our own console script
    port = _free_port()
    server = subprocess.Popen(  # noqa: S603  # our own console script
        [ketenpoort, "serve", "--port", str(port), "--workers", "1"], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if _request(base + "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("the gateway did not come up")
        yield base, instance
    finally:
        server.terminate()
        server.wait(timeout=30)


def _token(base: str, instance: Path, partner: str) -> str:
    credentials = json.loads((instance / "demo-clients.json").read_text())[partner]
    basic = base64.b64encode(
        f"{credentials['client_id']}:{credentials['client_secret']}".encode()).decode()
    status, body = _request(
        base + "/oauth/token",
        data=urllib.parse.urlencode({"grant_type": "client_credentials"}).encode(),
        headers={"Authorization": f"Basic {basic}",
                 "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 200, body
    token: str = body["access_token"]
    return token


def test_demo_credentials_are_readable_by_their_owner_only(served: tuple[str, Path]) -> None:
    _base, instance = served
    assert (instance / "demo-clients.json").stat().st_mode & 0o077 == 0
    assert (instance / "demo-users.json").stat().st_mode & 0o077 == 0
    assert (instance / "keyring.json").stat().st_mode & 0o077 == 0


def test_signal_travels_from_municipality_to_riec_over_http(served: tuple[str, Path]) -> None:
    base, instance = served
    sender = {"Authorization": f"Bearer {_token(base, instance, VLAARDINGEN)}",
              "Content-Type": "application/json", "Idempotency-Key": "readme-1"}

    status, result = _request(base + "/v1/exchanges", data=json.dumps(exchange_body()).encode(),
                              headers=sender)
    assert status == 201, result
    assert result["decisions"][0]["allowed"] is True

    riec = {"Authorization": f"Bearer {_token(base, instance, RIEC)}"}
    status, inbox = _request(base + "/v1/inbox?status=pending", headers=riec)
    assert status == 200
    [delivery] = [d for d in inbox["items"] if d["exchange_id"] == result["id"]]
    assert delivery["subjects"][0]["pseudonym"].startswith("PSN")

    status, ack = _request(base + f"/v1/inbox/{delivery['id']}/ack", data=b"", headers=riec)
    assert status == 200
    assert ack["id"] == delivery["id"]


def test_init_twice_keeps_the_instance(served: tuple[str, Path]) -> None:
    _base, instance = served
    keyring = (instance / "keyring.json").read_text()
    env = {**os.environ, "KETENPOORT_INSTANCE": str(instance)}
    subprocess.run([_console_script(), "init", "--demo"], env=env, check=True, timeout=120)  # noqa: S603  # our own console script

    assert (instance / "keyring.json").read_text() == keyring


def test_the_workspace_sign_in_page_is_served(served: tuple[str, Path]) -> None:
    base, instance = served
    people = json.loads((instance / "demo-users.json").read_text())
    with urllib.request.urlopen(base + "/werkruimte/inloggen", timeout=10) as response:  # noqa: S310  # loopback test server
        page = response.read().decode()

    assert response.status == 200
    assert "Inloggen" in page
    assert people[RIEC]["role"] == "regie"
    assert len(people[VLAARDINGEN]["totp_secret"]) >= 16
