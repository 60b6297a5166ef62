# METADATA
# title: Tests for ketenpoort.lib
# description: |
#   The shared helpers on their own; the policies' tests cover them again as they are used.
package ketenpoort.lib_test

import data.ketenpoort.lib

_covenant := {
	"valid_from": "2025-01-01",
	"valid_until": "2025-12-31",
	"parties": [{"partner": "bron", "role": "bron"}, {"partner": "regie", "role": "regie"}],
}

_grant := {"providers": ["bron"], "recipients": ["regie"], "process_steps": ["detectie"]}

test_identity_ranks_follow_the_levels if {
	lib.identity_rank == {"none": 0, "pseudonym": 1, "identified": 2}
	lib.identity_levels[lib.identity_rank.pseudonym] == "pseudonym"
}

test_sorted_answers_an_array_for_a_set_and_an_array if {
	lib.sorted({"b", "c", "a"}) == ["a", "b", "c"]
	lib.sorted(["b", "a"]) == ["a", "b"]
	lib.sorted(set()) == []
}

test_reason_has_a_code_and_a_message if {
	lib.reason("no-grant", "why") == {"code": "no-grant", "message": "why"}
}

test_is_date_accepts_only_yyyy_mm_dd_strings if {
	lib.is_date("2025-06-01")
	not lib.is_date("2025-6-1")
	not lib.is_date("01-06-2025")
	not lib.is_date("2025-06-01T00:00:00Z")
	not lib.is_date(20250601)
	not lib.is_date(null)
}

test_in_force_includes_first_and_last_day if {
	lib.in_force(_covenant, "2025-01-01")
	lib.in_force(_covenant, "2025-12-31")
	not lib.in_force(_covenant, "2024-12-31")
	not lib.in_force(_covenant, "2026-01-01")
}

test_parties_are_partner_ids if {
	lib.parties(_covenant) == {"bron", "regie"}
	lib.parties({"parties": []}) == set()
}

test_grant_names_provider_recipient_and_step if {
	lib.grant_names(_grant, "bron", "regie", "detectie")
	not lib.grant_names(_grant, "regie", "bron", "detectie")
	not lib.grant_names(_grant, "bron", "regie", "uitvoering")
	not lib.grant_names(_grant, "bron", "bron", "detectie")
}

test_assignment_needed_only_when_the_grant_requires_it if {
	lib.assignment_allows(_grant, false)
	lib.assignment_allows(object.union(_grant, {"requires_assignment": false}), false)
	not lib.assignment_allows(object.union(_grant, {"requires_assignment": true}), false)
	lib.assignment_allows(object.union(_grant, {"requires_assignment": true}), true)
}

test_form_allows_every_form_unless_the_grant_names_forms if {
	lib.form_allows(_grant, "seksuele_uitbuiting")
	labour := object.union(_grant, {"exploitation_forms": ["arbeidsuitbuiting"]})
	lib.form_allows(labour, "arbeidsuitbuiting")
	not lib.form_allows(labour, "seksuele_uitbuiting")
	not lib.form_allows(labour, "onbekend")
}

test_case_manager_allows if {
	lib.case_manager_allows(_grant, false)
	lib.case_manager_allows(object.union(_grant, {"requires_case_manager": false}), false)
	not lib.case_manager_allows(object.union(_grant, {"requires_case_manager": true}), false)
	lib.case_manager_allows(object.union(_grant, {"requires_case_manager": true}), true)
}
