"""The scale-out engine: an OPA server, reached over its REST Data API, and its bundle.

The OPA server loads the tarball written by :func:`write_opa_bundle` from the same
``policies/`` tree, so its revision is the bundle hash. OPA loads a newly published bundle on
its own schedule, so every query asks for provenance (``?provenance=true``: the answer names
the revision of each bundle OPA evaluated with, ``provenance.bundles.<name>.revision``) and
an answer from any other revision than the published one is refused
(:class:`PolicyRevisionMismatch`): the decision's bundle hash is the revision OPA reports.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from opa_client import OpaClient

from gateway.policy.covenants import PolicyBundle
from gateway.policy.interfaces import (
    ENTRYPOINT,
    PolicyEngineError,
    PolicyRevisionMismatch,
    PolicyTimeout,
    PolicyUndefined,
)

DEFAULT_PORTS = {"http": 8181, "https": 443}


class OpaEngine:
    """POSTs ``{"input": ...}`` to ``/v1/data/ketenpoort/exchange/decision``.

    Retries are off so that ``timeout`` bounds a decision; a failed call denies, and the next
    request simply asks again. Each thread gets its own client, since a requests session is
    not documented as thread-safe.
    """

    def __init__(self, bundle: PolicyBundle, url: str, timeout: float) -> None:
        parts = urlsplit(url)
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname or parts.path.strip("/"):
            raise ValueError(f"OPA url must be http(s)://host[:port] without a path, not {url!r}")
        self._client_options = {
            "host": parts.hostname,
            "port": parts.port or DEFAULT_PORTS[parts.scheme],
            "ssl": parts.scheme == "https",
            "timeout": timeout,
            "retries": 0,
        }
        self._bundle_hash = bundle.hash
        self._local = threading.local()

    @property
    def bundle_hash(self) -> str:
        return self._bundle_hash

    def evaluate(self, input: dict[str, Any], entrypoint: str = ENTRYPOINT) -> Any:
        package_path, rule_name = entrypoint.rsplit("/", 1)
        try:
            response = self._client().query_rule(input, package_path, rule_name,
                                                 query_params={"provenance": "true"})
        except requests.Timeout as error:
            raise PolicyTimeout(f"OPA did not answer in time: {error}") from error
        except (requests.RequestException, ValueError) as error:
            raise PolicyEngineError(f"OPA query failed: {error}") from error
        if not isinstance(response, dict):
            raise PolicyUndefined(f"OPA returned no result for {entrypoint}")
        self._check_revision(response.get("provenance"))
        if "result" not in response:
            raise PolicyUndefined(f"OPA returned no result for {entrypoint}")
        return response["result"]

    def _check_revision(self, provenance: Any) -> None:
        """OPA answered from the published bundle, or :class:`PolicyRevisionMismatch`.

        OPA serves several bundles only with disjoint roots, so one whose revision is ours
        holds every ``ketenpoort`` document the answer came from.
        """
        revisions = sorted(reported_revisions(provenance))
        if self._bundle_hash not in revisions:
            raise PolicyRevisionMismatch(
                f"OPA evaluated bundle revision(s) {revisions or 'unknown'}, the published "
                f"bundle is {self._bundle_hash}"
            )

    def _client(self) -> OpaClient:
        client = getattr(self._local, "client", None)
        if client is None:
            client = OpaClient(**self._client_options)
            self._local.client = client
        return client


def reported_revisions(provenance: Any) -> set[str]:
    """The bundle revisions in an OPA ``provenance`` object (absent or malformed: none).

    ``bundles.<name>.revision`` per configured bundle; a top-level ``revision`` when OPA
    runs the legacy single-bundle configuration.
    """
    if not isinstance(provenance, dict):
        return set()
    bundles = provenance.get("bundles")
    found = {bundle["revision"] for bundle in bundles.values()
             if isinstance(bundle, dict) and isinstance(bundle.get("revision"), str)
             } if isinstance(bundles, dict) else set()
    legacy = provenance.get("revision")
    return found | ({legacy} if isinstance(legacy, str) else set())


def write_opa_bundle(bundle: PolicyBundle, out: Path) -> None:
    """Write an OPA bundle tarball (``.tar.gz``) that is byte-for-byte reproducible."""
    manifest = {"revision": bundle.hash, "roots": ["ketenpoort"], "rego_version": 1}
    files = {
        "/.manifest": _json_bytes(manifest),
        "/data.json": _json_bytes(bundle.data),
        **{f"/{name}": source.encode("utf-8") for name, source in bundle.modules.items()},
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size = len(files[name])
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(files[name]))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(gzip.compress(buffer.getvalue(), mtime=0))


def _json_bytes(document: Any) -> bytes:
    return json.dumps(document, sort_keys=True, ensure_ascii=False, indent=1).encode("utf-8")
