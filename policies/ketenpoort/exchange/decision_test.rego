# METADATA
# title: Tests for ketenpoort.exchange
# description: |
#   Exercise the decision rules against small fixture covenants (not the demo covenants, which
#   the Python decision matrix covers), so each rule's behaviour is visible in isolation.
package ketenpoort.exchange_test

import data.ketenpoort.exchange

_steps := ["detectie", "dossiervorming", "weging_kwalificatie", "toewijzing_interventie", "uitvoering", "evaluatie"]

_partners := {
	"bron": {"id": "bron", "name": "Bron", "kind": "gemeente"},
	"regie": {"id": "regie", "name": "Regie", "kind": "riec"},
	"uitvoerder": {"id": "uitvoerder", "name": "Uitvoerder", "kind": "politie"},
	"buitenstaander": {"id": "buitenstaander", "name": "Buitenstaander", "kind": "woningcorporatie"},
}

_test_covenant := {
	"id": "test-convenant",
	"version": "7",
	"valid_from": "2025-01-01",
	"valid_until": "2025-12-31",
	"parties": [
		{"partner": "bron", "role": "bron"},
		{"partner": "regie", "role": "regie"},
		{"partner": "uitvoerder", "role": "uitvoerder"},
	],
	"purposes": [{"id": "doel", "title": "Doel"}],
	"categories": [
		{"id": "gewoon", "title": "Gewoon", "legal_basis": "AVG art. 6", "special": null},
		{"id": "adres", "title": "Adres", "legal_basis": "AVG art. 6", "special": null},
		{"id": "medisch", "title": "Medisch", "legal_basis": "AVG art. 9", "special": "art9"},
		{"id": "zonder-basis", "title": "Zonder basis", "legal_basis": " ", "special": "art10"},
	],
	"grants": [
		{
			"id": "g-gewoon", "providers": ["bron"], "recipients": ["regie"], "categories": ["gewoon", "adres"],
			"process_steps": ["detectie"], "purpose": "doel", "identity": "pseudonym",
		},
		{
			"id": "g-dossier", "providers": ["bron"], "recipients": ["regie"], "categories": ["gewoon"],
			"process_steps": ["dossiervorming"], "purpose": "doel", "identity": "identified",
		},
		{
			"id": "g-ook-gewoon", "providers": ["bron"], "recipients": ["regie"], "categories": ["gewoon"],
			"process_steps": ["dossiervorming"], "purpose": "doel", "identity": "none",
		},
		{
			"id": "g-medisch", "providers": ["bron"], "recipients": ["regie"], "categories": ["medisch"],
			"process_steps": ["detectie", "dossiervorming"], "purpose": "doel", "identity": "none",
		},
		{
			"id": "g-zonder-basis", "providers": ["bron"], "recipients": ["regie"], "categories": ["zonder-basis"],
			"process_steps": ["detectie"], "purpose": "doel", "identity": "pseudonym",
		},
		{
			"id": "g-arbeid", "providers": ["bron"], "recipients": ["uitvoerder"], "categories": ["gewoon"],
			"process_steps": ["detectie"], "purpose": "doel", "identity": "pseudonym",
			"exploitation_forms": ["arbeidsuitbuiting"],
		},
		{
			"id": "g-toegewezen", "providers": ["regie"], "recipients": ["uitvoerder"], "categories": ["gewoon"],
			"process_steps": ["uitvoering"], "purpose": "doel", "identity": "identified", "requires_assignment": true,
		},
		{
			"id": "g-regisseur", "providers": ["regie"], "recipients": ["bron"], "categories": ["adres"],
			"process_steps": ["evaluatie"], "purpose": "doel", "identity": "pseudonym", "requires_case_manager": true,
		},
	],
}

_other_covenant := {
	"id": "ander-convenant",
	"version": "1",
	"valid_from": "2025-01-01",
	"valid_until": "2025-12-31",
	"parties": [{"partner": "bron", "role": "bron"}, {"partner": "uitvoerder", "role": "uitvoerder"}],
	"purposes": [{"id": "ander-doel", "title": "Ander doel"}],
	"categories": [{"id": "medisch", "title": "Medisch", "legal_basis": "AVG art. 9", "special": "art9"}],
	"grants": [{
		"id": "g-ander", "providers": ["bron"], "recipients": ["uitvoerder"], "categories": ["medisch"],
		"process_steps": ["detectie"], "purpose": "ander-doel", "identity": "identified",
	}],
}

_base_input := {
	"covenant": "test-convenant",
	"purpose": "doel",
	"process_step": "detectie",
	"provider": "bron",
	"recipient": "regie",
	"categories": ["gewoon"],
	"today": "2025-06-01",
	"recipient_assigned": false,
}

# Each `with` value is bound to a local variable first: regopy 1.5.2 silently ignores
# `with ... as some_rule`, and a local variable means the same on OPA.
_decide(changes) := decision if {
	request := object.union(_base_input, changes)
	partners := _partners
	steps := _steps
	covenants := {"test-convenant": _test_covenant, "ander-convenant": _other_covenant}
	decision := exchange.decision with data.ketenpoort.exchange._request as request
		with data.ketenpoort.partners as partners
		with data.ketenpoort.process_steps as steps
		with data.ketenpoort.covenants as covenants
}

_codes(decision) := {reason.code | some reason in decision.reasons}

_category_codes(decision, category) := {reason.code |
	some reason in decision.reasons
	reason.category == category
}

_denied_with(decision, code) if {
	decision.allowed == false
	decision.categories_delivered == []
	code in _codes(decision)
}

test_grant_delivers_category_with_its_identity if {
	d := _decide({})
	d.allowed == true
	d.categories_delivered == ["gewoon"]
	d.categories_withheld == []
	d.identity == "pseudonym"
	d.grants == {"gewoon": ["g-gewoon"]}
	d.reasons == []
	d.covenant_version == "7"
}

test_identity_is_strongest_level_across_delivered_grants if {
	d := _decide({"process_step": "dossiervorming", "categories": ["gewoon", "medisch"]})
	d.categories_delivered == ["gewoon", "medisch"]
	d.identity == "identified"
	d.grants == {"gewoon": ["g-dossier", "g-ook-gewoon"], "medisch": ["g-medisch"]}
}

test_identity_none_when_only_aggregate_grant if {
	d := _decide({"categories": ["medisch"]})
	d.allowed == true
	d.identity == "none"
}

test_identity_none_when_nothing_delivered if {
	d := _decide({"recipient": "uitvoerder"})
	d.allowed == false
	d.identity == "none"
	d.grants == {}
}

test_partial_delivery_withholds_only_ungranted_categories if {
	d := _decide({"categories": ["gewoon", "onbekend"]})
	d.allowed == true
	d.categories_delivered == ["gewoon"]
	d.categories_withheld == ["onbekend"]
	_category_codes(d, "onbekend") == {"unknown-category"}
}

test_unknown_covenant_denies if {
	d := _decide({"covenant": "geen-convenant"})
	_denied_with(d, "unknown-covenant")
	d.covenant_version == null
	d.categories_withheld == ["gewoon"]
}

test_covenant_not_yet_valid_denies if {
	_denied_with(_decide({"today": "2024-12-31"}), "covenant-not-yet-valid")
}

test_covenant_expired_denies if {
	_denied_with(_decide({"today": "2026-01-01"}), "covenant-expired")
}

test_covenant_valid_on_its_first_and_last_day if {
	_decide({"today": "2025-01-01"}).allowed == true
	_decide({"today": "2025-12-31"}).allowed == true
}

test_malformed_date_denies if {
	_denied_with(_decide({"today": "1 juni 2025"}), "invalid-date")
}

test_missing_input_denies_and_names_the_field if {
	covenants := {"test-convenant": _test_covenant}
	d := exchange.decision with data.ketenpoort.exchange._request as {"covenant": "test-convenant"}
		with data.ketenpoort.covenants as covenants
	d.allowed == false
	some reason in d.reasons
	reason.code == "missing-input"
	reason.message == "input has no provider"
}

test_unknown_purpose_denies if {
	d := _decide({"purpose": "nergens"})
	_denied_with(d, "unknown-purpose")
	not "purpose-not-in-covenant" in _codes(d)
}

test_purpose_of_another_covenant_does_not_cross if {
	d := _decide({"purpose": "ander-doel"})
	_denied_with(d, "purpose-not-in-covenant")
	not "unknown-purpose" in _codes(d)
}

test_unknown_step_denies if {
	_denied_with(_decide({"process_step": "opsporing"}), "unknown-step")
}

test_registered_outsider_cannot_send if {
	d := _decide({"provider": "buitenstaander"})
	_denied_with(d, "provider-not-party")
	some reason in d.reasons
	reason.message == "provider buitenstaander is a registered partner but no party to covenant test-convenant"
}

test_registered_outsider_cannot_receive if {
	_denied_with(_decide({"recipient": "buitenstaander"}), "recipient-not-party")
}

test_unregistered_partner_is_named_as_such if {
	d := _decide({"recipient": "onbekend"})
	some reason in d.reasons
	reason.code == "recipient-not-party"
	reason.message == "recipient onbekend is not a registered partner and so no party to covenant test-convenant"
}

test_no_grant_names_provider_recipient_and_step if {
	d := _decide({"process_step": "weging_kwalificatie"})
	d.allowed == false
	d.reasons == [{
		"code": "no-grant",
		"category": "gewoon",
		"message": "no grant in covenant test-convenant lets bron provide gewoon to regie at weging_kwalificatie for doel",
	}]
}

test_no_grant_for_other_recipient if {
	d := _decide({"recipient": "uitvoerder", "categories": ["adres"]})
	_category_codes(d, "adres") == {"no-grant"}
}

test_grant_does_not_reverse_direction if {
	d := _decide({"provider": "regie", "recipient": "bron"})
	_category_codes(d, "gewoon") == {"no-grant"}
}

test_special_category_without_grant_is_named_special if {
	d := _decide({"recipient": "uitvoerder", "categories": ["medisch"]})
	d.allowed == false
	_category_codes(d, "medisch") == {"special-category-without-basis"}
}

test_special_category_with_blank_legal_basis_is_withheld_despite_grant if {
	d := _decide({"categories": ["zonder-basis", "gewoon"]})
	d.categories_delivered == ["gewoon"]
	_category_codes(d, "zonder-basis") == {"special-category-without-basis"}
	not d.grants["zonder-basis"]
}

test_special_category_granted_in_other_covenant_does_not_cross if {
	d := _decide({"recipient": "uitvoerder", "categories": ["medisch"], "process_step": "detectie"})
	d.allowed == false
	crossed := _decide({
		"covenant": "ander-convenant", "purpose": "ander-doel", "recipient": "uitvoerder",
		"categories": ["medisch"],
	})
	crossed.allowed == true
}

test_assignment_required_and_missing if {
	d := _decide({"provider": "regie", "recipient": "uitvoerder", "process_step": "uitvoering"})
	d.allowed == false
	_category_codes(d, "gewoon") == {"recipient-not-assigned"}
}

test_assignment_required_and_present if {
	d := _decide({
		"provider": "regie", "recipient": "uitvoerder", "process_step": "uitvoering",
		"recipient_assigned": true,
	})
	d.allowed == true
	d.identity == "identified"
	d.grants == {"gewoon": ["g-toegewezen"]}
}

test_assignment_must_be_boolean_true if {
	d := _decide({
		"provider": "regie", "recipient": "uitvoerder", "process_step": "uitvoering",
		"recipient_assigned": "true",
	})
	d.allowed == false
}

test_case_manager_required_and_missing if {
	d := _decide({"provider": "regie", "recipient": "bron", "process_step": "evaluatie", "categories": ["adres"]})
	d.allowed == false
	_category_codes(d, "adres") == {"recipient-not-case-manager"}
}

test_case_manager_required_and_present if {
	d := _decide({
		"provider": "regie", "recipient": "bron", "process_step": "evaluatie", "categories": ["adres"],
		"recipient_case_manager": true,
	})
	d.allowed == true
	d.grants == {"adres": ["g-regisseur"]}
}

test_case_manager_must_be_boolean_true if {
	d := _decide({
		"provider": "regie", "recipient": "bron", "process_step": "evaluatie", "categories": ["adres"],
		"recipient_case_manager": "true",
	})
	d.allowed == false
}

test_no_categories_denies if {
	_denied_with(_decide({"categories": []}), "no-categories")
}

test_request_reason_withholds_every_requested_category if {
	d := _decide({"categories": ["gewoon", "adres", "medisch"], "today": "2030-01-01"})
	d.categories_withheld == ["adres", "gewoon", "medisch"]
	count({r | some r in d.reasons; r.category}) == 0
}

test_several_request_reasons_are_all_reported if {
	d := _decide({"covenant": "ander-convenant", "recipient": "regie", "today": "2030-01-01"})
	_codes(d) == {"purpose-not-in-covenant", "recipient-not-party", "covenant-expired"}
}

test_identity_per_category_is_the_strongest_grant_of_that_category if {
	d := _decide({"process_step": "dossiervorming", "categories": ["gewoon", "medisch"]})
	d.identities == {"gewoon": "identified", "medisch": "none"}
}

test_mixed_exchange_keeps_each_person_at_the_level_of_their_own_items if {
	d := _decide({
		"process_step": "dossiervorming",
		"categories": ["gewoon", "medisch"],
		"subjects": {"a": ["medisch"], "b": ["gewoon"]},
	})
	d.identity == "identified"
	d.subject_identities == {"a": "none", "b": "identified"}
}

test_person_named_by_identified_and_pseudonymised_items_gets_the_pseudonym if {
	d := _decide({
		"categories": ["gewoon", "adres"],
		"subjects": {"a": ["gewoon", "adres"]},
	})
	d.subject_identities == {"a": "pseudonym"}
	mixed := _decide({
		"process_step": "dossiervorming",
		"categories": ["gewoon", "medisch"],
		"subjects": {"a": ["gewoon", "medisch"], "b": ["gewoon"]},
	})
	mixed.subject_identities == {"a": "none", "b": "identified"}
}

test_person_with_only_withheld_categories_gets_no_level if {
	d := _decide({"categories": ["gewoon", "onbekend"], "subjects": {"a": ["onbekend"], "b": ["gewoon"]}})
	d.subject_identities == {"b": "pseudonym"}
}

test_no_subjects_in_input_means_no_subject_levels if {
	_decide({}).subject_identities == {}
}

# The demo covenant's case from the adversarial review: the GGD sends the RIEC, at
# dossiervorming, health data about one person (pseudonymised by its grant) and a signal about
# another (identified). The person of the health item stays pseudonymised.
test_demo_health_item_keeps_its_person_pseudonymised_beside_an_identified_item if {
	request := {
		"covenant": "riec-rr-mensenhandel",
		"purpose": "ketenaanpak-mensenhandel",
		"process_step": "dossiervorming",
		"provider": "ggd-rotterdam-rijnmond",
		"recipient": "riec-rotterdam-rijnmond",
		"categories": ["gezondheid", "uitbuitingssignalen"],
		"today": "2026-06-01",
		"recipient_assigned": false,
		"subjects": {"a": ["gezondheid"], "b": ["uitbuitingssignalen"], "c": ["gezondheid", "uitbuitingssignalen"]},
	}
	d := exchange.decision with data.ketenpoort.exchange._request as request
	d.identity == "identified"
	d.identities == {"gezondheid": "pseudonym", "uitbuitingssignalen": "identified"}
	d.subject_identities == {"a": "pseudonym", "b": "identified", "c": "pseudonym"}
}

test_grant_limited_to_a_form_applies_only_to_signals_about_it if {
	labour := _decide({"recipient": "uitvoerder", "exploitation_form": "arbeidsuitbuiting"})
	labour.allowed == true
	labour.grants == {"gewoon": ["g-arbeid"]}
	sexual := _decide({"recipient": "uitvoerder", "exploitation_form": "seksuele_uitbuiting"})
	_denied_with(sexual, "exploitation-form-not-granted")
	_denied_with(_decide({"recipient": "uitvoerder"}), "exploitation-form-not-granted")
}

test_grant_without_forms_applies_to_every_form if {
	d := _decide({"exploitation_form": "criminele_uitbuiting"})
	d.allowed == true
	d.grants == {"gewoon": ["g-gewoon"]}
}
