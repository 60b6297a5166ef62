"""Who is signed in, for the workspace pages: ``@require_person("case:read")``.

The page receives the signed-in person as keyword argument ``person``; a page checks the scope
the API endpoint behind it checks, through the person's role.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g, request
from flask_babel import gettext as _

from gateway.auth.interfaces import check_known_scopes
from gateway.container import current_container
from gateway.problems import Problem, forbidden
from gateway.workspace.roles import ROLE_SCOPES, person_actor
from gateway.workspace.sessions import SIGNED_IN, LiveSession
from gateway.workspace.wiring import Workspace

SESSION_COOKIE = "ketenpoort_sessie"
View = Callable[..., Any]


def workspace() -> Workspace:
    services: Workspace = current_container().workspace
    return services


def live_session() -> LiveSession | None:
    """The session of this request's cookie, looked up once per request."""
    if "workspace_session" not in g:
        g.workspace_session = None  # should the lookup fail, the error page shows nobody
        token = request.cookies.get(SESSION_COOKIE)
        g.workspace_session = workspace().sessions.resume(token) if token else None
    found: LiveSession | None = g.workspace_session
    return found


def signed_in() -> LiveSession | None:
    live = live_session()
    return live if live is not None and live.stage == SIGNED_IN else None


def require_person(*scopes: str) -> Callable[[View], View]:
    """The page needs every one of ``scopes``."""
    return _guard(scopes, all)


def require_person_with_any(*scopes: str) -> Callable[[View], View]:
    """The page needs one of ``scopes`` (as ``audit:read`` or ``audit:own`` in the API)."""
    return _guard(scopes, any)


def _guard(scopes: tuple[str, ...], needed: Callable[[Any], bool]) -> Callable[[View], View]:
    check_known_scopes(scopes)

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            live = signed_in()
            if live is None:
                raise Problem(401, "sign-in-required", _("Sign in first"),
                              _("this page is for signed-in people"))
            held = ROLE_SCOPES.get(live.role, frozenset())
            if not needed(scope in held for scope in scopes):
                raise forbidden("role-not-allowed",
                                _("your role does not give access to this page"))
            return view(*args, person=person_actor(live.partner, live.user_id), **kwargs)

        return guarded

    return decorate


def may(scope: str) -> bool:
    """Whether the signed-in person's role holds ``scope`` (for showing navigation)."""
    live = signed_in()
    return live is not None and scope in ROLE_SCOPES.get(live.role, frozenset())

