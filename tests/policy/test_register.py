"""The "who may see what" matrix: the strongest level per cell, and whether it is conditional."""

from __future__ import annotations

from typing import Any

from gateway.policy.register import SightCell, sight_matrix


def _grant(grant_id: str, identity: str, **relation: bool) -> dict[str, Any]:
    return {"id": grant_id, "providers": ["regie"], "recipients": ["gemeente"],
            "categories": ["gewoon"], "process_steps": ["uitvoering"], "identity": identity,
            **relation}


def _cell(*grants: dict[str, Any]) -> SightCell:
    return sight_matrix({"grants": list(grants)}, "uitvoering")["gemeente"]["gewoon"]


def test_the_strongest_level_is_conditional_only_when_every_grant_giving_it_is() -> None:
    assert _cell(_grant("open", "pseudonym"), _grant("assigned", "identified",
                                                     requires_assignment=True)
                 ) == SightCell("identified", ("regie",), requires_assignment=True,
                                requires_case_manager=False)
    assert _cell(_grant("open", "identified"), _grant("assigned", "identified",
                                                      requires_assignment=True)
                 ).requires_assignment is False


def test_a_case_manager_grant_marks_its_level_for_the_case_manager() -> None:
    cell = _cell(_grant("open", "none"), _grant("manager", "pseudonym",
                                                requires_case_manager=True))

    assert (cell.identity, cell.requires_assignment, cell.requires_case_manager) == (
        "pseudonym", False, True)


def test_either_relation_is_named_when_both_give_the_strongest_level() -> None:
    cell = _cell(_grant("assigned", "identified", requires_assignment=True),
                 _grant("manager", "identified", requires_case_manager=True))

    assert (cell.requires_assignment, cell.requires_case_manager) == (True, True)
