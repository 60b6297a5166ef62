"""The image itself, built with podman and run against the host's PostgreSQL: /healthz and one
exchange, with the root file system read-only as compose.yaml and docker/haven run it.

Slow (a build), so off unless asked for: ``KETENPOORT_TEST_CONTAINER=1``. The base image is
``KETENPOORT_TEST_CONTAINER_BASE`` (default ``python:3.11-slim``; where no registry can be
reached, one made with debootstrap, docker/README.md); ``KETENPOORT_TEST_CONTAINER_CA`` names a CA
bundle pip must trust while building (a TLS-intercepting proxy). Containers run with
``--runtime runc`` and small ulimits, as this machine's podman needs.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import POSTGRES_ADMIN_URL, postgres_admin
from tests.factories import RIEC, VLAARDINGEN, exchange_body

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "localhost/ketenpoort:test"
PORT = 18_931
RUN_OPTIONS = ["--runtime", "runc", "--ulimit", "nofile=1024:1024", "--ulimit",
               "nproc=1024:1024"]
DATABASE = f"ketenpoort_image_{os.getpid()}"

pytestmark = pytest.mark.skipif(
    os.environ.get("KETENPOORT_TEST_CONTAINER") != "1" or shutil.which("podman") is None,
    reason="builds the image: set KETENPOORT_TEST_CONTAINER=1 (needs podman)")


def _podman(*arguments: str, timeout: int = 120) -> str:
    result = subprocess.run(["podman", *arguments], capture_output=True, text=True,  # noqa: S603, S607  # podman from PATH, our own arguments
                            timeout=timeout, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.fixture(scope="module")
def image() -> str:
    # --format docker: the OCI format podman defaults to drops the image's HEALTHCHECK.
    build = ["build", *RUN_OPTIONS, "--format", "docker", "--network", "host",
             "-f", "docker/Dockerfile", "-t", IMAGE,
             "--build-arg", "BASE_IMAGE=" + os.environ.get("KETENPOORT_TEST_CONTAINER_BASE",
                                                           "python:3.11-slim")]
    if os.environ.get("KETENPOORT_TEST_CONTAINER_CA"):
        build += ["-v", f"{os.environ['KETENPOORT_TEST_CONTAINER_CA']}:/run/host-ca.crt:ro",
                  "--build-arg", "PIP_CERT=/run/host-ca.crt"]
    _podman(*build, str(ROOT), timeout=1800)
    return IMAGE


@pytest.fixture(scope="module")
def gateway(image: str) -> Iterator[str]:
    postgres_admin(f'CREATE DATABASE "{DATABASE}"')
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + DATABASE
    name = f"ketenpoort-test-{os.getpid()}"
    base = f"http://127.0.0.1:{PORT}"
    try:
        _podman("run", "-d", "--name", name, *RUN_OPTIONS, "--network", "host", "--read-only",
                "--tmpfs", "/tmp",  # noqa: S108  # the container's own tmpfs, not the host's
                "--security-opt", "no-new-privileges", "--cap-drop", "ALL",
                "-v", f"{name}:/var/lib/ketenpoort",
                "-e", f"KETENPOORT_DATABASE_URL={url}",
                # A fixed product day inside the covenant's validity, whatever today is.
                "-e", "KETENPOORT_CLOCK_START=2026-06-01",
                image, "ketenpoort", "serve", "--host", "127.0.0.1", "--port", str(PORT))
        _wait_for(base + "/healthz", name)
        yield name
    finally:
        subprocess.run(["podman", "rm", "-f", "-v", name], capture_output=True, timeout=120,  # noqa: S603, S607  # podman from PATH
                       check=False)
        subprocess.run(["podman", "volume", "rm", "-f", name], capture_output=True,  # noqa: S603, S607  # podman from PATH
                       timeout=120, check=False)
        postgres_admin(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


def _wait_for(url: str, name: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310  # local http
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1)
    pytest.fail("the container did not come up: " + _podman("logs", name)[-3000:])


def _request(url: str, body: bytes | None = None, headers: dict[str, str] | None = None
             ) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=body, headers=headers or {})  # noqa: S310  # local
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310  # local http
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_image_reports_its_version(image: str) -> None:
    assert _podman("run", "--rm", *RUN_OPTIONS, image, "ketenpoort", "--version").startswith(
        "ketenpoort ")


def test_the_container_serves_health_and_one_exchange(gateway: str) -> None:
    base = f"http://127.0.0.1:{PORT}"
    assert _request(base + "/healthz") == (200, {"status": "ok"})
    credentials = json.loads(_podman("exec", gateway, "ketenpoort", "client", "create",
                                     "--partner", VLAARDINGEN, "--scopes", "exchange:write",
                                     "--json"))
    basic = base64.b64encode(
        f"{credentials['client_id']}:{credentials['client_secret']}".encode()).decode()
    status, token = _request(
        base + "/oauth/token",
        urllib.parse.urlencode({"grant_type": "client_credentials"}).encode(),
        {"Authorization": f"Basic {basic}",
         "Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200, token

    status, answer = _request(base + "/v1/exchanges", json.dumps(exchange_body()).encode(),
                              {"Authorization": f"Bearer {token['access_token']}",
                               "Content-Type": "application/json"})

    assert status == 201, answer
    assert [d["recipient"] for d in answer["decisions"]] == [RIEC]
