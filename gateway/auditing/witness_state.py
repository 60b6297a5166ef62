"""Reading a witness's state file (``python -m audit.witness --state FILE``), as an officer
hands it to the workspace: the checkpoint the witness last verified and the keys it pinned.

Only the shape is checked here; whether the witness's checkpoint is signed and the log still
extends it is for the officer's browser to verify, with the witness's keys, not the server's.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from audit.witness import STATE_FORMAT, Rejected, SignedHead

MAX_STATE_LENGTH = 20_000


class WitnessStateError(ValueError):
    """Not a witness state file (the message says why, for the person who pasted it)."""


def parse_witness_state(text: str) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The witnessed checkpoint (as the witness stores it) and the witness's pinned keys."""
    if not text.strip() or len(text) > MAX_STATE_LENGTH:
        raise WitnessStateError(f"paste the witness's state file (at most {MAX_STATE_LENGTH} "
                                "characters)")
    try:
        state = json.loads(text)
    except ValueError as error:
        raise WitnessStateError(f"not JSON: {error}") from error
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise WitnessStateError(f"not a {STATE_FORMAT} state file")
    try:
        head = SignedHead.from_json(state.get("checkpoint") or {})
    except Rejected as error:
        raise WitnessStateError(str(error)) from error
    return head.to_json(), _keys(state.get("public_keys"))


def _keys(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list) or not value:
        raise WitnessStateError("the state file names no public keys")
    keys = []
    for item in value:
        encoded = item.get("public_key") if isinstance(item, dict) else None
        try:
            raw = base64.b64decode(str(encoded), validate=True)
        except binascii.Error as error:
            raise WitnessStateError(f"malformed public key: {error}") from error
        if len(raw) != 32:
            raise WitnessStateError("a public key of the state file is not 32 bytes")
        keys.append({"key_id": str(item.get("key_id")), "public_key": str(encoded)})
    return keys
