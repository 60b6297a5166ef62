"""The exact bytes an audit entry is hashed as: RFC 8785 canonical JSON.

Canonical JSON makes the leaf hash a function of the entry's content alone (key order,
whitespace and number spelling cannot vary), so a verifier can re-derive it anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import rfc8785

from audit.interfaces import AuditError


def canonical_entry(entry: Mapping[str, Any]) -> bytes:
    try:
        return bytes(rfc8785.dumps(dict(entry)))
    except rfc8785.CanonicalizationError as error:
        raise AuditError(f"audit entry is not representable as canonical JSON: {error}") from error
