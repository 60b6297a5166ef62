"""A witness: remembers the last checkpoint it verified and detects a split view of the log.

Run as ``python -m audit.witness --state FILE --url BASE [--public-key PEM ...]`` (the bearer token,
scope ``audit:read`` or ``audit:own``, in the environment variable
``KETENPOORT_WITNESS_TOKEN``), or use :class:`Witness` with any fetch function. Imports nothing
from the gateway, so a privacy officer or the authority can run it on their own machine.

Each run fetches ``/v1/audit/checkpoint`` and accepts it only when

* it is signed by a trusted key: the ``--public-key`` given, else the keys the witness pinned on
  its first run from ``/v1/audit/public-keys`` (trust on first use, as SSH does);
* it names the origin remembered;
* it is not smaller than the remembered checkpoint (a rollback), a checkpoint of the same size
  has the same root (else two histories of one size exist), and a larger one is proven
  consistent with the remembered one by ``/v1/audit/consistency-proof`` (RFC 9162).

On success the new checkpoint replaces the remembered one atomically (write, fsync, rename); on
rejection the state file is left exactly as it was and the exit status is 1 (2 when the log
cannot be reached or the state file is unusable: nothing was concluded). An operator who
shows one history to this witness and another to someone else is caught as soon as the two
compare checkpoints, or as soon as the witness is shown the other history.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import os
import sys
import tempfile
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.error import URLError

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from audit.merkle import verify_consistency
from audit.note import CheckpointBody, key_id, parse_time, raw_public_key, signature_valid
from audit.verify import load_public_key

STATE_FORMAT = "ketenpoort-witness/1"
TOKEN_VARIABLE = "KETENPOORT_WITNESS_TOKEN"  # noqa: S105 -- a variable name, not a secret
FETCH_TIMEOUT_SECONDS = 30

# Takes a path with its query (e.g. "/v1/audit/checkpoint") and returns the decoded JSON body;
# raises FetchError when the log cannot be asked.
Fetch = Callable[[str], Any]


class FetchError(RuntimeError):
    """The log did not answer, or not with JSON: nothing can be concluded."""


class Rejected(Exception):
    """The log showed a checkpoint that is forged, rolled back or not consistent."""


@dataclass(frozen=True)
class SignedHead:
    body: CheckpointBody
    key_id: str
    signature: bytes

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> SignedHead:
        try:
            body = CheckpointBody(
                origin=str(document["origin"]),
                tree_size=_natural(document["tree_size"]),
                root_hash=_b64(document["root_hash"], 32),
                issued_at=parse_time(document["issued_at"]),
            )
            return cls(body, str(document["key_id"]), _b64(document["signature"], 64))
        except (KeyError, TypeError, ValueError) as error:
            raise Rejected(f"malformed checkpoint: {error}") from error

    def to_json(self) -> dict[str, Any]:
        return {
            "origin": self.body.origin,
            "tree_size": self.body.tree_size,
            "root_hash": base64.b64encode(self.body.root_hash).decode("ascii"),
            "issued_at": self.body.issued_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "key_id": self.key_id,
            "signature": base64.b64encode(self.signature).decode("ascii"),
        }


@dataclass(frozen=True)
class Outcome:
    previous: SignedHead | None
    current: SignedHead

    def summary(self) -> str:
        size = self.current.body.tree_size
        if self.previous is None:
            return f"OK: first checkpoint remembered (size {size})"
        return f"OK: size {self.previous.body.tree_size} -> {size}, consistent"


class Witness:
    """Checks the log's newest checkpoint against the one remembered in ``state_path``."""

    def __init__(
        self, state_path: Path, fetch: Fetch,
        trusted_key: Ed25519PublicKey | Sequence[Ed25519PublicKey] | None = None,
    ) -> None:
        self._state_path = state_path
        self._fetch = fetch
        self._trusted_key = trusted_key

    def check(self) -> Outcome:
        """Verify and remember the newest checkpoint; raise :class:`Rejected` (state kept)."""
        state = self._load_state()
        keys = self._keys(state)
        previous = None if state is None else SignedHead.from_json(state["checkpoint"])
        current = SignedHead.from_json(_object(self._fetch("/v1/audit/checkpoint")))
        _check_signature(current, keys)
        if previous is not None:
            self._check_extends(previous, current)
        self._store(current, keys)
        return Outcome(previous, current)

    def _keys(self, state: Mapping[str, Any] | None) -> dict[str, Ed25519PublicKey]:
        if isinstance(self._trusted_key, Ed25519PublicKey):
            return {key_id(self._trusted_key): self._trusted_key}
        if self._trusted_key is not None:  # after a key rotation: the old and the new key
            return {key_id(key): key for key in self._trusted_key}
        if state is not None:
            return {k["key_id"]: _public_key(k["public_key"]) for k in state["public_keys"]}
        published = _object(self._fetch("/v1/audit/public-keys")).get("keys")
        if not isinstance(published, list):
            raise Rejected("the log published no key list")
        keys = {}
        for entry in published:
            public_key = _public_key(entry.get("public_key") if isinstance(entry, dict) else None)
            keys[key_id(public_key)] = public_key
        return keys

    def _check_extends(self, previous: SignedHead, current: SignedHead) -> None:
        old, new = previous.body, current.body
        if new.origin != old.origin:
            raise Rejected(f"checkpoint of log {new.origin!r}, remembered {old.origin!r}")
        if new.tree_size < old.tree_size:
            raise Rejected(f"rollback: size {new.tree_size} after verified size {old.tree_size}")
        if new.tree_size == old.tree_size:
            if new.root_hash != old.root_hash:
                raise Rejected(f"split view: two roots for size {new.tree_size}")
            return
        answer = _object(self._fetch(
            f"/v1/audit/consistency-proof?first={old.tree_size}&second={new.tree_size}"
        ))
        if (answer.get("first"), answer.get("second")) != (old.tree_size, new.tree_size):
            raise Rejected("the consistency proof answers another question")
        hashes = answer.get("hashes")
        if not isinstance(hashes, list):
            raise Rejected("malformed consistency proof")
        try:
            proof = [_b64(h, 32) for h in hashes]
        except (TypeError, ValueError) as error:
            raise Rejected(f"malformed consistency proof: {error}") from error
        if not verify_consistency(old.tree_size, new.tree_size, proof, old.root_hash,
                                  new.root_hash):
            raise Rejected(
                f"split view: size {new.tree_size} is not an extension of verified size "
                f"{old.tree_size}"
            )

    def _load_state(self) -> dict[str, Any] | None:
        try:
            text = self._state_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        state = json.loads(text)
        if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
            raise ValueError(f"{self._state_path} is not a {STATE_FORMAT} state file")
        return state

    def _store(self, head: SignedHead, keys: Mapping[str, Ed25519PublicKey]) -> None:
        state = {
            "format": STATE_FORMAT,
            "checkpoint": head.to_json(),
            "public_keys": [
                {"key_id": kid, "public_key": base64.b64encode(raw_public_key(k)).decode()}
                for kid, k in sorted(keys.items())
            ],
        }
        directory = self._state_path.parent
        descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=".witness-")
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as out:
                json.dump(state, out, indent=2)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self._state_path)
        except BaseException:
            os.unlink(temporary)
            raise


def _check_signature(head: SignedHead, keys: Mapping[str, Ed25519PublicKey]) -> None:
    public_key = keys.get(head.key_id)
    if public_key is None:
        raise Rejected(f"checkpoint signed by untrusted key {head.key_id}")
    if not signature_valid(public_key, head.body, head.signature):
        raise Rejected(f"bad signature on checkpoint of size {head.body.tree_size}")


def _object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Rejected("the log answered something other than a JSON object")
    return value


def _natural(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError("tree_size must be a non-negative integer")
    return value


def _b64(value: Any, length: int) -> bytes:
    if not isinstance(value, str):
        raise TypeError("expected a base64 string")
    try:
        raw = base64.b64decode(value, validate=True)
    except binascii.Error as error:
        raise ValueError(f"invalid base64: {error}") from error
    if len(raw) != length:
        raise ValueError(f"expected {length} bytes, got {len(raw)}")
    return raw


def _public_key(value: Any) -> Ed25519PublicKey:
    try:
        return Ed25519PublicKey.from_public_bytes(_b64(value, 32))
    except (TypeError, ValueError) as error:
        raise Rejected(f"malformed public key: {error}") from error


def http_fetch(base_url: str, token: str | None) -> Fetch:
    """A fetch function over HTTP(S) with an optional bearer token."""
    if not base_url.startswith(("https://", "http://")):
        raise SystemExit(f"{base_url!r} is not an http(s) URL")

    def fetch(path: str) -> Any:
        # The scheme is checked above: urllib's file: and custom schemes never reach here.
        request = urllib.request.Request(base_url.rstrip("/") + path)  # noqa: S310
        request.add_header("Accept", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(  # noqa: S310 -- http(s) only, checked above
                request, timeout=FETCH_TIMEOUT_SECONDS
            ) as response:
                return json.loads(response.read())
        except (URLError, OSError, ValueError) as error:
            raise FetchError(f"{path}: {error}") from error

    return fetch


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m audit.witness",
        description="Verify the audit log's newest checkpoint against the one remembered.",
    )
    parser.add_argument("--state", type=Path, required=True, help="the witness's state file")
    parser.add_argument("--url", required=True, help="base URL of the gateway")
    parser.add_argument("--public-key", type=Path, action="append",
                        help="PEM file of a trusted checkpoint key; after the log's key was "
                             "rotated, give the old and the new one")
    arguments = parser.parse_args(argv)
    trusted = (None if arguments.public_key is None
               else [load_public_key(path) for path in arguments.public_key])
    witness = Witness(
        arguments.state, http_fetch(arguments.url, os.environ.get(TOKEN_VARIABLE)), trusted
    )
    try:
        outcome = witness.check()
    except Rejected as rejection:
        print(f"REJECTED: {rejection}", file=sys.stderr)
        return 1
    except FetchError as error:
        print(f"cannot reach the log: {error}", file=sys.stderr)
        return 2
    except (ValueError, KeyError, TypeError) as error:
        # A damaged state file: nothing was verified, and it is left for a person to inspect.
        print(f"unusable state file {arguments.state}: {error!r}", file=sys.stderr)
        return 2
    print(outcome.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
