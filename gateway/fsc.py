"""The FSC transaction id (Federatieve Service Connectiviteit, ``Fsc-Transaction-Id``).

An FSC outway names each request with a transaction id; both sides log it, so a partner's
integration team and ours can find the same request in each other's logs. The gateway takes
the id a request brings, or creates one, answers with it, and carries it into the audit entry
and the deliveries of an exchange. Only a UUID is accepted: the id lands in the append-only
log, so it must not be free text a sender could write a person into.
"""

from __future__ import annotations

import uuid

from flask import Response, g, request

from gateway.problems import bad_request

HEADER = "Fsc-Transaction-Id"


def take_transaction_id() -> None:
    """Before each request: the caller's transaction id, or a new one."""
    given = request.headers.get(HEADER)
    if given is None:
        g.fsc_transaction_id = str(uuid.uuid4())
        return
    try:
        g.fsc_transaction_id = str(uuid.UUID(given))
    except ValueError:
        g.fsc_transaction_id = str(uuid.uuid4())
        raise bad_request("malformed-transaction-id", "Malformed transaction id",
                          f"the {HEADER} header must be a UUID") from None


def current_transaction_id() -> str:
    transaction_id: str = g.fsc_transaction_id
    return transaction_id


def answer_with_transaction_id(response: Response) -> Response:
    """After each request: the transaction id goes back, as FSC's inway would return it."""
    if "fsc_transaction_id" in g:
        response.headers[HEADER] = g.fsc_transaction_id
    return response
