"""What the policy room offers the rest of the gateway, and what an engine must provide."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

ENTRYPOINT = "ketenpoort/exchange/decision"
#: The case meeting's agenda views (gateway.meetings): many (participant, case) views per call.
AGENDA_ENTRYPOINT = "ketenpoort/meeting/agenda_views"
#: Re-identification of a pseudonym by the partner it was delivered to (gateway.identity).
REIDENTIFICATION_ENTRYPOINT = "ketenpoort/reidentification/decision"
ENTRYPOINTS = (ENTRYPOINT, AGENDA_ENTRYPOINT, REIDENTIFICATION_ENTRYPOINT)
IDENTITY_LEVELS = ("none", "pseudonym", "identified")


class PolicyEngineError(RuntimeError):
    """The engine could not produce a decision; callers must deny."""


class PolicyTimeout(PolicyEngineError):
    """The engine did not answer in time; callers must deny."""


class PolicyRevisionMismatch(PolicyEngineError):
    """The engine evaluated another bundle revision than the one published: nobody decides.

    A remote OPA loads the published bundle on its own schedule; until it has, its answers
    would be recorded under a bundle hash they did not come from.
    """


class PolicyUndefined(PolicyEngineError):
    """The engine ran but the entrypoint had no value (policy not loaded?); callers must deny."""


@dataclass(frozen=True)
class DecisionRequest:
    """One provider disclosing categories to one recipient; hashable, so decisions can be cached."""

    covenant: str
    purpose: str
    process_step: str
    provider: str
    recipient: str
    categories: tuple[str, ...]
    today: str
    recipient_assigned: bool = False
    recipient_case_manager: bool = False
    # Each person of the exchange with the categories of the items naming them, sorted; the
    # policy answers each person's identity level from these (see Decision.subject_identities).
    subject_categories: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # The form of exploitation the signal is about; grants may be limited to some forms.
    exploitation_form: str = "onbekend"

    def as_input(self) -> dict[str, Any]:
        return {
            "exploitation_form": self.exploitation_form,
            "subjects": {ref: list(categories) for ref, categories in self.subject_categories},
            "covenant": self.covenant,
            "purpose": self.purpose,
            "process_step": self.process_step,
            "provider": self.provider,
            "recipient": self.recipient,
            "categories": list(self.categories),
            "today": self.today,
            "recipient_assigned": self.recipient_assigned,
            "recipient_case_manager": self.recipient_case_manager,
        }


@dataclass(frozen=True)
class Reason:
    code: str
    message: str
    category: str | None = None

    def as_dict(self) -> dict[str, str]:
        body = {"code": self.code, "message": self.message}
        if self.category is not None:
            body["category"] = self.category
        return body


#: Reason codes of a denial the policy service makes when the engine gave no decision (failed,
#: timed out, or answered nothing it can trust): no judgement on the request.
ENGINE_FAILURE_CODES = frozenset({"engine-error", "engine-timeout", "undefined-result"})


@dataclass(frozen=True)
class Decision:
    """The outcome for one recipient, with the bundle hash that makes it replayable.

    ``identity`` is the strongest level any delivered category allows, a summary; what a
    person is shown as is ``subject_identities[ref]``, the most restrictive level among the
    delivered categories of the items naming that person (absent: the person is not delivered).
    """

    recipient: str
    allowed: bool
    categories_delivered: tuple[str, ...]
    categories_withheld: tuple[str, ...]
    identity: str
    grants: dict[str, tuple[str, ...]] = field(hash=False)
    reasons: tuple[Reason, ...]
    covenant: str
    covenant_version: str | None
    bundle_hash: str
    identities: dict[str, str] = field(default_factory=dict, hash=False)
    subject_identities: dict[str, str] = field(default_factory=dict, hash=False)

    @property
    def engine_failed(self) -> bool:
        """Denied because the engine gave no decision, not because the policy says no."""
        return any(reason.code in ENGINE_FAILURE_CODES for reason in self.reasons)

    def as_dict(self) -> dict[str, Any]:
        return {
            "recipient": self.recipient,
            "allowed": self.allowed,
            "categories_delivered": list(self.categories_delivered),
            "categories_withheld": list(self.categories_withheld),
            "identity": self.identity,
            "identities": dict(self.identities),
            "subject_identities": dict(self.subject_identities),
            "grants": {category: list(ids) for category, ids in self.grants.items()},
            "reasons": [reason.as_dict() for reason in self.reasons],
            "covenant": self.covenant,
            "covenant_version": self.covenant_version,
            "bundle_hash": self.bundle_hash,
        }


class PolicyEngine(Protocol):
    """Evaluates the decision entrypoint for one input document.

    ``evaluate`` returns the entrypoint's raw value and raises :class:`PolicyEngineError`
    (or :class:`PolicyTimeout`) when there is none; it never returns a default, because only
    the service decides what a failure means (deny).
    """

    @property
    def bundle_hash(self) -> str: ...

    def evaluate(self, input: dict[str, Any], entrypoint: str = ENTRYPOINT) -> Any: ...
