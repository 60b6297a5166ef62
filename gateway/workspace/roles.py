"""Roles of people, mapped onto the scopes partner systems hold, and the person as an actor."""

from __future__ import annotations

from gateway.ports import Caller

MEDEWERKER = "medewerker"
CASEMANAGER = "casemanager"
REGIE = "regie"
VOORZITTER = "voorzitter"
PRIVACYFUNCTIONARIS = "privacyfunctionaris"
PRIVACYFUNCTIONARIS_REGIO = "privacyfunctionaris-regio"

#: What a person in each role may do, in the API's own scopes: a page checks the scope the
#: API endpoint behind it checks, so a role can never do more in the browser than a client.
ROLE_SCOPES: dict[str, frozenset[str]] = {
    MEDEWERKER: frozenset({"exchange:write", "inbox:read"}),
    CASEMANAGER: frozenset({"exchange:write", "inbox:read", "case:read", "case:write",
                            "meeting:read"}),
    REGIE: frozenset({"exchange:write", "inbox:read", "case:read", "case:write",
                      "linkage:read", "linkage:write", "meeting:read", "meeting:admin"}),
    VOORZITTER: frozenset({"case:read", "meeting:read", "meeting:admin"}),
    # A partner's officer reads what its partner took part in and is the second pair of eyes
    # on its re-identifications; the region's officer (at the RIEC) holds what the RIEC's
    # officer client holds in the API: the whole log and the region's figures. Both answer
    # data subjects for their own partner (rectification, restriction, objection).
    PRIVACYFUNCTIONARIS: frozenset({"audit:own", "reidentify", "rights:write"}),
    PRIVACYFUNCTIONARIS_REGIO: frozenset({"audit:read", "statistics:read", "reidentify",
                                          "rights:write"}),
}
ROLES = tuple(ROLE_SCOPES)


#: A signed-in person acting for their partner, as the services see them: a caller whose
#: ``person_id`` names them, so audit entries name both.
Person = Caller


def person_actor(partner_id: str, user_id: str) -> Caller:
    # The client id scopes idempotency keys: one person's keys never answer another's.
    return Caller(partner_id, f"workspace:{user_id}", person_id=user_id)
