"""Policy fixtures: the demo policies tree, its bundle, and the embedded engine over it.

Nothing here needs a database: the policy room is pure data in, decision out.
"""

from __future__ import annotations

import itertools
import shutil
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from http.server import HTTPServer
from pathlib import Path
from typing import Any

import pytest

from gateway.policy.covenants import STEPS_WITH_ASSIGNMENT, PolicyBundle
from gateway.policy.interfaces import DecisionRequest
from gateway.policy.regopy_engine import RegopyEngine
from gateway.policy.services import PolicyService
from tests.conftest import POLICIES_PATH, TEST_TODAY

RIEC = "riec-rotterdam-rijnmond"
OUTSIDER = "woningcorporatie-waterweg"
TODAY = TEST_TODAY.isoformat()


@contextmanager
def serving(httpd: HTTPServer) -> Iterator[None]:
    """``httpd`` answering on a thread of its own until the block ends (an OPA stand-in)."""
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="session")
def bundle(test_policies_path: Path) -> PolicyBundle:
    """The demo covenants, in force on the suite's day."""
    return PolicyBundle.load(test_policies_path)


@pytest.fixture(scope="session")
def shipped_bundle() -> PolicyBundle:
    """The covenants as shipped, with their real signing dates (for tests of the files)."""
    return PolicyBundle.load(POLICIES_PATH)


@pytest.fixture(scope="session")
def regopy_engine(bundle: PolicyBundle) -> RegopyEngine:
    return RegopyEngine(bundle)


@pytest.fixture
def service(regopy_engine: RegopyEngine) -> PolicyService:
    return PolicyService(regopy_engine)


@pytest.fixture
def policies_copy(tmp_path: Path) -> Path:
    """A private copy of the policies tree that a test may break."""
    copy = tmp_path / "policies"
    shutil.copytree(POLICIES_PATH, copy)
    return copy


def make_request(**changes: Any) -> DecisionRequest:
    """A request the demo covenant allows (police signals to the RIEC at detectie), changed."""
    fields: dict[str, Any] = {
        "covenant": "riec-rr-mensenhandel",
        "purpose": "ketenaanpak-mensenhandel",
        "process_step": "detectie",
        "provider": "politie-rotterdam",
        "recipient": RIEC,
        "categories": ("uitbuitingssignalen",),
        "today": TODAY,
        "recipient_assigned": False,
    }
    fields.update(changes)
    return DecisionRequest(**fields)


@pytest.fixture
def request_for() -> Callable[..., DecisionRequest]:
    return make_request


IDENTITY_ORDER = ("none", "pseudonym", "identified")


def covenant_documents(bundle: PolicyBundle) -> dict[str, dict[str, Any]]:
    documents: dict[str, dict[str, Any]] = bundle.data["ketenpoort"]["covenants"]
    return documents


def matrix_requests(bundle: PolicyBundle) -> list[DecisionRequest]:
    """Every party (and the outsider) to every other, at every step, assigned where it can be,
    case manager where it can be (a municipality).

    Each request asks for every category of its covenant at once, so one decision answers
    for all of them.
    """
    requests = []
    for document in covenant_documents(bundle).values():
        partners = sorted({p["partner"] for p in document["parties"]} | {OUTSIDER})
        municipalities = {p["partner"] for p in document["parties"] if p["role"] == "gemeente"}
        for provider, recipient in itertools.permutations(partners, 2):
            for step, assigned, manager, purpose, form in itertools.product(
                    bundle.process_steps, (False, True), (False, True), _purposes(document),
                    _forms(document)):
                if assigned and step not in STEPS_WITH_ASSIGNMENT:
                    continue
                if manager and recipient not in municipalities:
                    continue
                if not _worth_asking(document, step, purpose, form):
                    continue
                requests.append(
                    DecisionRequest(
                        covenant=document["id"],
                        purpose=purpose,
                        process_step=step,
                        provider=provider,
                        recipient=recipient,
                        categories=tuple(c["id"] for c in document["categories"]),
                        today=TODAY,
                        recipient_assigned=assigned,
                        recipient_case_manager=manager,
                        exploitation_form=form,
                    )
                )
    return requests


def _purposes(document: dict[str, Any]) -> list[str]:
    return [purpose["id"] for purpose in document["purposes"]]


def _worth_asking(document: dict[str, Any], step: str, purpose: str, form: str) -> bool:
    """Every step for the main purpose and an unknown form; for another purpose or form only
    the steps a grant for it names (the matrix stays small enough for the fake OPA server)."""
    if (purpose, form) == (_purposes(document)[0], "onbekend"):
        return True
    return any(grant["purpose"] == purpose and step in grant["process_steps"]
               and (form == "onbekend" or form in grant.get("exploitation_forms", ()))
               for grant in document["grants"])


def _forms(document: dict[str, Any]) -> list[str]:
    """A signal about an unknown form, and about each form some grant is limited to."""
    limited = {form for grant in document["grants"] for form in grant.get("exploitation_forms", ())}
    return ["onbekend", *sorted(limited)]


@pytest.fixture(scope="session")
def matrix(bundle: PolicyBundle, regopy_engine: RegopyEngine) -> dict[DecisionRequest, Any]:
    """The embedded engine's decision for every matrix request, computed once per run."""
    service = PolicyService(regopy_engine, cache_size=0)
    return {request: service.decide(request) for request in matrix_requests(bundle)}


def granting(document: dict[str, Any], request: DecisionRequest, category: str) -> set[str]:
    """The grants that should deliver ``category``: a plain reading of the covenant, for checking
    the Rego against an independent implementation."""
    return {
        grant["id"]
        for grant in document["grants"]
        if category in grant["categories"]
        and request.provider in grant["providers"]
        and request.recipient in grant["recipients"]
        and request.process_step in grant["process_steps"]
        and grant["purpose"] == request.purpose
        and (request.recipient_assigned or not grant.get("requires_assignment", False))
        and (request.recipient_case_manager or not grant.get("requires_case_manager", False))
        and request.exploitation_form in grant.get("exploitation_forms",
                                                   [request.exploitation_form])
    }


def strongest_identity(document: dict[str, Any], grant_ids: Iterable[str]) -> str:
    levels = [g["identity"] for g in document["grants"] if g["id"] in set(grant_ids)]
    return max(levels, key=IDENTITY_ORDER.index, default="none")
