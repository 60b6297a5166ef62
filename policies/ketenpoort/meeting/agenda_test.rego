# METADATA
# title: Tests for ketenpoort.meeting
# description: |
#   Exercise the agenda view rules against a small fixture covenant, so the effect of party
#   roles, involvement, assignment, the case manager and step on each view is visible in
#   isolation.
package ketenpoort.meeting_test

import data.ketenpoort.meeting

_fixture_covenant := {
	"id": "overleg-convenant",
	"version": "3",
	"valid_from": "2025-01-01",
	"valid_until": "2025-12-31",
	"parties": [
		{"partner": "regie", "role": "regie"},
		{"partner": "gemeente", "role": "gemeente"},
		{"partner": "politie", "role": "politie"},
	],
	"purposes": [{"id": "doel", "title": "Doel"}],
	"categories": [{"id": "gewoon", "title": "Gewoon", "legal_basis": "AVG art. 6", "special": null}],
	"grants": [
		{
			"id": "g-overleg", "providers": ["regie"], "recipients": ["gemeente", "politie"],
			"categories": ["gewoon"], "process_steps": ["weging_kwalificatie", "uitvoering"],
			"purpose": "doel", "identity": "pseudonym",
		},
		{
			"id": "g-toegewezen", "providers": ["regie"], "recipients": ["gemeente", "politie"],
			"categories": ["gewoon"], "process_steps": ["uitvoering"], "purpose": "doel",
			"identity": "identified", "requires_assignment": true,
		},
		{
			"id": "g-regisseur", "providers": ["regie"], "recipients": ["gemeente", "politie"],
			"categories": ["gewoon"], "process_steps": ["toewijzing_interventie"], "purpose": "doel",
			"identity": "identified", "requires_case_manager": true,
		},
		{
			"id": "g-terug", "providers": ["regie"], "recipients": ["gemeente", "politie"],
			"categories": ["gewoon"], "process_steps": ["evaluatie"], "purpose": "doel",
			"identity": "none",
		},
		{
			"id": "g-naar-regie", "providers": ["politie"], "recipients": ["regie"],
			"categories": ["gewoon"], "process_steps": ["detectie"], "purpose": "doel",
			"identity": "identified",
		},
	],
}

# Each `with` value is bound to a local variable first: regopy 1.5.2 silently ignores
# `with ... as some_rule`, and a local variable means the same on OPA.
_agenda_for(queries, today) := answer if {
	request := {"covenant": "overleg-convenant", "today": today, "queries": queries}
	covenants := {"overleg-convenant": _fixture_covenant}
	answer := meeting.agenda_views with data.ketenpoort.meeting._request as request
		with data.ketenpoort.covenants as covenants
}

_view_in_2025(participant, step, involvement) := answer if {
	result := _agenda_for([{"participant": participant, "step": step, "involvement": involvement}], "2025-06-01")
	answer := result.views[0]
}

_case_manager_view(participant, step, involvement, case_manager) := answer if {
	query := {
		"participant": participant, "step": step,
		"involvement": involvement, "case_manager": case_manager,
	}
	result := _agenda_for([query], "2025-06-01")
	answer := result.views[0]
}

test_regie_sees_everything_at_every_step if {
	every step in ["detectie", "weging_kwalificatie", "uitvoering", "gesloten"] {
		_view_in_2025("regie", step, null) == {"view": "full", "reason": "regie"}
	}
}

test_a_partner_outside_the_covenant_sees_nothing_even_when_involved if {
	_view_in_2025("buitenstaander", "uitvoering", "assigned") == {"view": "hidden", "reason": "not-a-party"}
}

test_without_a_grant_an_uninvolved_party_sees_nothing if {
	_view_in_2025("politie", "detectie", null) == {"view": "hidden", "reason": "no-grant"}
}

test_the_case_manager_sees_the_title_where_no_grant_reaches_it if {
	_view_in_2025("gemeente", "detectie", "case_manager") == {"view": "title_only", "reason": "involved-without-grant"}
}

test_every_party_weighs_pseudonymised_at_weging if {
	_view_in_2025("politie", "weging_kwalificatie", null) == {"view": "pseudonymised", "reason": "deliberation"}
}

test_an_uninvolved_party_sees_only_the_title_after_weging if {
	_view_in_2025("politie", "uitvoering", null) == {"view": "title_only", "reason": "not-involved"}
}

test_the_case_manager_is_not_the_assigned_partner if {
	_view_in_2025("gemeente", "uitvoering", "case_manager") == {"view": "pseudonymised", "reason": "involved-pseudonym"}
}

test_the_assigned_partner_sees_the_full_item if {
	_view_in_2025("politie", "uitvoering", "assigned") == {"view": "full", "reason": "involved-identified"}
}

test_an_aggregate_grant_shows_only_the_title if {
	_view_in_2025("politie", "evaluatie", "assigned") == {"view": "title_only", "reason": "involved-without-grant"}
}

test_an_expired_covenant_hides_everything_even_from_the_regie if {
	result := _agenda_for([{"participant": "regie", "step": "uitvoering", "involvement": null}], "2026-01-01")
	result.views == [{"view": "hidden", "reason": "covenant-not-valid"}]
	result.covenant_version == "3"
}

test_views_come_back_in_query_order if {
	queries := [
		{"participant": "politie", "step": "detectie", "involvement": null},
		{"participant": "regie", "step": "detectie", "involvement": null},
		{"participant": "politie", "step": "uitvoering", "involvement": "assigned"},
	]
	result := _agenda_for(queries, "2025-06-01")
	[v.view | some v in result.views] == ["hidden", "full", "full"]
}

# At toewijzing_interventie only g-regisseur reaches gemeente and politie, so each view
# below shows whether that grant reached the participant.
_at_toewijzing(participant, involvement, case_manager) := _case_manager_view(
	participant, "toewijzing_interventie", involvement, case_manager,
)

test_a_case_manager_grant_gives_the_case_manager_the_full_item if {
	_at_toewijzing("gemeente", "case_manager", true) == {"view": "full", "reason": "involved-identified"}
}

test_a_case_manager_grant_passes_by_an_assigned_partner_that_is_not_the_case_manager if {
	_at_toewijzing("politie", "assigned", false) == {"view": "title_only", "reason": "involved-without-grant"}
}

test_a_case_manager_grant_passes_by_an_uninvolved_partner if {
	_at_toewijzing("politie", null, false) == {"view": "hidden", "reason": "no-grant"}
}

test_a_case_manager_grant_reaches_a_case_manager_that_is_also_assigned if {
	_at_toewijzing("gemeente", "assigned", true) == {"view": "full", "reason": "involved-identified"}
}

test_without_the_case_manager_field_a_case_manager_grant_does_not_reach if {
	view := _view_in_2025("gemeente", "toewijzing_interventie", "case_manager")
	view == {"view": "title_only", "reason": "involved-without-grant"}
}

test_only_boolean_true_makes_a_case_manager if {
	_at_toewijzing("gemeente", "case_manager", "true") == {"view": "title_only", "reason": "involved-without-grant"}
}

test_grants_without_the_flag_ignore_the_case_manager_field if {
	manager := _case_manager_view("gemeente", "uitvoering", "case_manager", true)
	manager == {"view": "pseudonymised", "reason": "involved-pseudonym"}
	assigned := _case_manager_view("politie", "uitvoering", "assigned", false)
	assigned == {"view": "full", "reason": "involved-identified"}
	weighing := _case_manager_view("politie", "weging_kwalificatie", null, false)
	weighing == {"view": "pseudonymised", "reason": "deliberation"}
}
