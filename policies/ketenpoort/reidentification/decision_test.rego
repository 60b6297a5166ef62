# METADATA
# title: Tests for ketenpoort.reidentification
# description: |
#   Exercise the re-identification rule against a small fixture covenant: only an identified
#   grant naming the requester, the provider, the step, the purpose and a category of the
#   delivery releases an identity, and only for a pseudonym delivered to the requester.
package ketenpoort.reidentification_test

import data.ketenpoort.reidentification

_fixture_covenant := {
	"id": "convenant",
	"version": "2",
	"valid_from": "2025-01-01",
	"valid_until": "2025-12-31",
	"parties": [{"partner": "riec", "role": "regie"}, {"partner": "gemeente", "role": "gemeente"}],
	"purposes": [{"id": "doel", "title": "Doel"}],
	"categories": [
		{"id": "signalen", "title": "Signalen", "legal_basis": "AVG art. 6", "special": null},
		{"id": "interventie", "title": "Interventie", "legal_basis": "AVG art. 6", "special": null},
	],
	"grants": [
		{
			"id": "g-pseudoniem", "providers": ["gemeente"], "recipients": ["riec"],
			"categories": ["signalen"], "process_steps": ["detectie"], "purpose": "doel",
			"identity": "pseudonym",
		},
		{
			"id": "g-dossier", "providers": ["gemeente"], "recipients": ["riec"],
			"categories": ["signalen"], "process_steps": ["dossiervorming"], "purpose": "doel",
			"identity": "identified",
		},
		{
			"id": "g-toegewezen", "providers": ["riec"], "recipients": ["gemeente"],
			"categories": ["interventie"], "process_steps": ["uitvoering"], "purpose": "doel",
			"identity": "identified", "requires_assignment": true,
		},
	],
}

_delivery(provider, step, categories) := {
	"covenant": "convenant", "purpose": "doel", "process_step": step,
	"provider": provider, "categories": categories,
}

# Each `with` value is bound to a local variable first: regopy 1.5.2 silently ignores
# `with ... as some_rule`, and a local variable means the same on OPA.
_decide(requester, deliveries, today, assigned) := answer if {
	request := {"requester": requester, "today": today, "deliveries": deliveries, "requester_assigned": assigned}
	covenants := {"convenant": _fixture_covenant}
	answer := reidentification.decision with data.ketenpoort.reidentification._request as request
		with data.ketenpoort.covenants as covenants
}

_codes(answer) := {reason.code | some reason in answer.reasons}

test_an_identified_grant_at_the_delivery_step_releases if {
	answer := _decide("riec", [_delivery("gemeente", "dossiervorming", ["signalen"])], "2025-06-01", false)
	answer.allowed == true
	answer.grants == ["g-dossier"]
	answer.reasons == []
}

test_a_pseudonym_grant_does_not_release if {
	answer := _decide("riec", [_delivery("gemeente", "detectie", ["signalen"])], "2025-06-01", false)
	answer.allowed == false
	_codes(answer) == {"no-identified-grant"}
}

test_a_pseudonym_never_delivered_is_refused if {
	answer := _decide("riec", [], "2025-06-01", false)
	answer.allowed == false
	_codes(answer) == {"not-delivered"}
}

test_the_grant_must_name_the_requester if {
	answer := _decide("gemeente", [_delivery("gemeente", "dossiervorming", ["signalen"])], "2025-06-01", false)
	answer.allowed == false
}

test_the_grant_must_cover_a_category_of_the_delivery if {
	answer := _decide("riec", [_delivery("gemeente", "dossiervorming", ["interventie"])], "2025-06-01", false)
	answer.allowed == false
}

test_one_allowing_delivery_among_several_releases if {
	deliveries := [
		_delivery("gemeente", "detectie", ["signalen"]),
		_delivery("gemeente", "dossiervorming", ["signalen"]),
	]
	_decide("riec", deliveries, "2025-06-01", false).allowed == true
}

test_an_expired_covenant_releases_nothing if {
	answer := _decide("riec", [_delivery("gemeente", "dossiervorming", ["signalen"])], "2026-01-02", false)
	answer.allowed == false
	"covenant-not-valid" in _codes(answer)
}

test_a_grant_requiring_assignment_needs_the_assigned_requester if {
	deliveries := [_delivery("riec", "uitvoering", ["interventie"])]
	_decide("gemeente", deliveries, "2025-06-01", false).allowed == false
	_decide("gemeente", deliveries, "2025-06-01", true).allowed == true
}

test_a_malformed_date_is_refused if {
	answer := _decide("riec", [_delivery("gemeente", "dossiervorming", ["signalen"])], "1 juni", false)
	answer.allowed == false
	"invalid-date" in _codes(answer)
}

test_the_releasable_deliveries_are_named_by_index if {
	deliveries := [
		_delivery("gemeente", "detectie", ["signalen"]),
		_delivery("gemeente", "dossiervorming", ["signalen"]),
	]
	_decide("riec", deliveries, "2025-06-01", false).releasable == [1]
}

test_a_category_without_identified_grant_keeps_the_delivery_closed if {
	answer := _decide("riec", [_delivery("gemeente", "dossiervorming", ["signalen", "interventie"])], "2025-06-01", false)
	answer.allowed == false
	answer.releasable == []
	answer.grants == []
	_codes(answer) == {"no-identified-grant"}
}
