"""What each reader of the audit log is shown of an entry: one function per reader role.

The log keeps whole entries: the privacy officer (``audit:read``) answers subject access
requests from them and the authority verifies them, so :func:`officer_view` is the entry as
recorded. A partner reading its own entries (``audit:own``) is shown only what it already
knows (:func:`partner_view`):

* entries it took part in: as their actor, or as a recipient that was *allowed* to receive
  something (a refused recipient received nothing and is not told that anyone tried);
* never an audit pseudonym (the gateway-wide key of a person: matching one against another
  entry, another partner's view, or an entry naming a refused person would re-identify),
  never a vault subject id, never the policy bundle hash;
* of an exchange it sent: every decision, as the sender was answered, without bundle hash;
* of an exchange it received: only its own decision, and its own per-recipient pseudonyms
  (as its inbox shows them), never the other recipients or their decisions;
* persons otherwise appear as counts (``identities_disclosed`` becomes a number, a subject
  list becomes roles);
* only fields on :data:`PARTNER_FIELDS` pass: a field added to some entry later stays with
  the privacy officer until someone decides a partner may see it.

Pure functions over plain mappings: the API views and any CLI use the same rules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# Fields a partner may see of an entry it takes part in, as recorded. Everything naming a
# person, a vault key or the bundle is handled (or dropped) by :func:`partner_view` itself.
PARTNER_FIELDS = frozenset({
    "action", "event_id", "recorded_at", "exchange_id", "covenant", "covenant_version",
    "purpose", "process_step", "case_id", "problem", "fields",
    "delivery_id", "delivery_ids", "exchange_ids", "not_found", "access", "event_ids",
    "tree_size", "format", "filters", "reidentification_id", "requester", "allowed", "code",
    "candidate_id", "candidate_ids", "score", "signals", "case_manager", "meeting_id",
    "version", "case_ids", "assignment_id", "assigned_partner", "item_id", "partner",
    "priority", "case_step", "reason_given", "unchanged", "status", "transaction_id",
})
# Of an exchange, what only its sender knows.
SENDER_FIELDS = ("categories", "subjects_not_accepted")
# Of the sender's decisions: as the 201/403 answer gave them (bundle hash left out).
SENDER_DECISION_FIELDS = ("recipient", "recipient_oin", "allowed", "categories_delivered",
                          "categories_withheld", "identity", "reasons", "grants",
                          "covenant_version")
# Of a recipient's own decision: what reached it, not what was withheld from it.
RECIPIENT_DECISION_FIELDS = ("recipient", "recipient_oin", "allowed", "categories_delivered",
                             "identity", "covenant_version")
# Keys whose value names persons; a partner sees how many, never which.
PERSON_LIST_FIELDS = ("identities_disclosed", "identities_shredded")


def officer_view(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The privacy officer's view (``audit:read``): the entry as recorded."""
    return dict(entry)


def takes_part(entry: Mapping[str, Any], partner: str) -> bool:
    """Did ``partner`` act in the entry's event, or receive something through it?"""
    if acted(entry, partner):
        return True
    recipients = entry.get("recipients")
    if not isinstance(recipients, list) or partner not in recipients:
        return False
    decisions = entry.get("decisions")
    if not isinstance(decisions, list):
        return True
    return any(_own(decision, partner) and decision.get("allowed") is True
               for decision in decisions)


def acted(entry: Mapping[str, Any], partner: str) -> bool:
    actor = entry.get("actor")
    return isinstance(actor, Mapping) and actor.get("partner") == partner


def partner_view(
    entry: Mapping[str, Any], partner: str, own_subjects: Sequence[Mapping[str, Any]] = ()
) -> dict[str, Any]:
    """A partner's view (``audit:own``) of an entry it takes part in (see :func:`takes_part`).

    ``own_subjects`` are the ``{"role", "pseudonym"}`` of the persons this partner received
    through the entry's exchange, from its own delivery; they are shown to a recipient only.
    """
    acting = acted(entry, partner)
    view = {key: value for key, value in entry.items() if key in PARTNER_FIELDS}
    actor = entry.get("actor")
    if isinstance(actor, Mapping):
        # A recipient knows the sending partner (and its OIN) from its inbox, not the sender's
        # client.
        view["actor"] = dict(actor) if acting else {
            "partner": actor.get("partner"), **({"oin": actor["oin"]} if "oin" in actor else {})}
    if "recipients" in entry:
        view["recipients"] = entry["recipients"] if acting else [partner]
    if acting:
        # What the sender itself sent: its categories, how many persons nobody received.
        view.update({key: entry[key] for key in SENDER_FIELDS if key in entry})
    if isinstance(entry.get("decisions"), list):
        view["decisions"] = _decisions(entry["decisions"], partner, acting)
    if "subjects" in entry:
        view["subjects"] = _subjects(entry["subjects"], own_subjects, acting)
    if "subject" in entry:
        view["subject_named"] = entry["subject"] is not None
    for key in PERSON_LIST_FIELDS:
        if key in entry:
            value = entry[key]
            view[key] = len(value) if isinstance(value, list) else 0
    return view


def _decisions(decisions: list[Any], partner: str, acting: bool) -> list[dict[str, Any]]:
    fields = SENDER_DECISION_FIELDS if acting else RECIPIENT_DECISION_FIELDS
    return [
        {key: decision[key] for key in fields if key in decision}
        for decision in decisions
        if isinstance(decision, Mapping) and (acting or _own(decision, partner))
    ]


def _subjects(
    subjects: Any, own_subjects: Sequence[Mapping[str, Any]], acting: bool
) -> list[dict[str, Any]]:
    """The sender sees the roles it sent; a recipient the pseudonyms it was given."""
    if not acting:
        return [{"role": s.get("role"), "pseudonym": s.get("pseudonym")} for s in own_subjects]
    if not isinstance(subjects, list):
        return []
    # Some entries list bare audit pseudonyms: the actor learns how many, not which.
    return [{"role": s.get("role") if isinstance(s, Mapping) else None} for s in subjects]


def _own(decision: Any, partner: str) -> bool:
    return isinstance(decision, Mapping) and decision.get("recipient") == partner
