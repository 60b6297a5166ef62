"""Protect Flask views with access tokens: ``@require_scope("exchange:write")``.

The app's container (:func:`gateway.container.current_container`) supplies ``tokens``
(a :class:`~gateway.auth.services.TokenService`) and ``session_factory`` (for the revocation
check). The view receives the caller as keyword argument ``principal``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import request

from gateway.auth.interfaces import InvalidToken, Principal, check_known_scopes
from gateway.auth.services import TokenService, revocation_check
from gateway.container import current_container
from gateway.db import read_only
from gateway.problems import Problem, forbidden, unauthorized

log = logging.getLogger(__name__)

View = Callable[..., Any]


def require_scope(*scopes: str) -> Callable[[View], View]:
    """Let a request in only with a valid bearer token holding every one of ``scopes``."""
    check_known_scopes(scopes)

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            principal = _authenticated_principal()
            missing = [scope for scope in scopes if not principal.has_scope(scope)]
            if missing:
                raise _insufficient_scope(missing)
            return view(*args, principal=principal, **kwargs)

        return guarded

    return decorate


def _authenticated_principal() -> Principal:
    container = current_container()
    tokens: TokenService = container.tokens
    token = _bearer_token()
    with read_only(container.session_factory) as session:
        try:
            return tokens.verify(token, revocation_check(session),
                                 container.client_certificates.presented(request.environ))
        except InvalidToken as exc:
            # The reason goes to the log only: telling a caller why a forged token failed
            # helps the forger.
            log.info("rejected access token: %s", exc.reason)
            raise unauthorized("the access token is invalid, expired or revoked") from None


def _bearer_token() -> str:
    header = request.headers.get("Authorization")
    if header is None:
        raise unauthorized("send an access token: 'Authorization: Bearer <token>'")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or " " in token.strip():
        raise unauthorized("the Authorization header must be 'Bearer <token>'")
    return token.strip()


def _insufficient_scope(missing: list[str]) -> Problem:
    problem = forbidden(
        "insufficient-scope",
        f"the access token lacks scope {' '.join(missing)}",
        missing_scopes=missing,
    )
    # RFC 6750 section 3.1: name the error and the scope the client should ask for.
    problem.headers["WWW-Authenticate"] = (
        f'Bearer realm="ketenpoort", error="insufficient_scope", scope="{" ".join(missing)}"'
    )
    return problem
