# METADATA
# title: Exchange decisions
# description: |
#   Decides, for one provider and one recipient, which data categories may be disclosed
#   under a covenant, for a purpose, at a process step, and how identifying the disclosure
#   may be, per category and per person. Generic over the covenant data in data.ketenpoort:
#   no covenant is named here.
#   Deny by default: a category is delivered only when a grant names its provider, its
#   recipient, its step and its purpose; every withheld category carries a reason.
# related_resources:
#   - ref: https://www.openpolicyagent.org/docs/policy-language
package ketenpoort.exchange

import data.ketenpoort.lib

# METADATA
# title: Decision
# description: |
#   The single entrypoint (ketenpoort/exchange/decision). Always defined: with no covenant,
#   partner or grant to go on it denies, and says why in reasons.
# entrypoint: true
decision := {
	"allowed": _allowed,
	"categories_delivered": lib.sorted(_delivered),
	"categories_withheld": lib.sorted(_withheld),
	"identity": _identity,
	"identities": _identities_by_category,
	"subject_identities": _identity_by_subject,
	"grants": _grants_by_category,
	"reasons": lib.sorted(_reasons),
	"covenant_version": _covenant_version,
}

# The request under decision. Every rule reads the request through this rule, never from input
# directly, so tests replace it with `with data.ketenpoort.exchange._request as ...`: regopy
# 1.5.2 crashes on `with input as ...` over rules that call builtins, and mocking a rule
# behaves the same on OPA.
_request := input

_covenant := data.ketenpoort.covenants[_request.covenant]

default _covenant_version := null

_covenant_version := _covenant.version

_requested contains category if some category in _request.categories

_known_purposes contains purpose.id if {
	some covenant in data.ketenpoort.covenants
	some purpose in covenant.purposes
}

_covenant_purposes contains purpose.id if some purpose in _covenant.purposes

_parties := lib.parties(_covenant)

_categories[category.id] := category if some category in _covenant.categories

_required_fields := {"covenant", "purpose", "process_step", "provider", "recipient", "categories", "today"}

default _recipient_assigned := false

# The form of exploitation the signal is about; a request that names none is about onbekend.
default _exploitation_form := "onbekend"

_exploitation_form := _request.exploitation_form

_recipient_assigned if _request.recipient_assigned == true

default _recipient_case_manager := false

_recipient_case_manager if _request.recipient_case_manager == true

_today_valid if lib.is_date(_request.today)

_category_reason(code, category, message) := {"code": code, "category": category, "message": message}

# Reasons that concern the request as a whole: any one of them withholds every category.
# Each rule's message names the offending input value, so it is defined only when that value
# is present; a missing value is reported once, as missing-input.

_request_reasons contains lib.reason("missing-input", msg) if {
	some field in _required_fields
	object.get(_request, field, null) == null
	msg := sprintf("input has no %s", [field])
}

_request_reasons contains lib.reason("unknown-covenant", msg) if {
	not _covenant
	msg := sprintf("covenant %v is not known", [_request.covenant])
}

_request_reasons contains lib.reason("invalid-date", msg) if {
	not _today_valid
	msg := sprintf("today %v is not a date in the form YYYY-MM-DD", [_request.today])
}

_request_reasons contains lib.reason("covenant-not-yet-valid", msg) if {
	_today_valid
	_request.today < _covenant.valid_from
	msg := sprintf("covenant %s is valid from %s; today is %s", [_request.covenant, _covenant.valid_from, _request.today])
}

_request_reasons contains lib.reason("covenant-expired", msg) if {
	_today_valid
	_request.today > _covenant.valid_until
	msg := sprintf("covenant %s expired after %s; today is %s", [_request.covenant, _covenant.valid_until, _request.today])
}

_request_reasons contains lib.reason("unknown-purpose", msg) if {
	not _request.purpose in _known_purposes
	msg := sprintf("purpose %v is not the purpose of any covenant", [_request.purpose])
}

_request_reasons contains lib.reason("purpose-not-in-covenant", msg) if {
	_covenant
	_request.purpose in _known_purposes
	not _request.purpose in _covenant_purposes
	msg := sprintf("purpose %s is not a purpose of covenant %s", [_request.purpose, _request.covenant])
}

_request_reasons contains lib.reason("unknown-step", msg) if {
	not _request.process_step in data.ketenpoort.process_steps
	msg := sprintf("process step %v is not known", [_request.process_step])
}

_request_reasons contains lib.reason("provider-not-party", msg) if {
	_covenant
	not _request.provider in _parties
	msg := sprintf("provider %v %s covenant %s", [_request.provider, _party_status(_request.provider), _request.covenant])
}

_request_reasons contains lib.reason("recipient-not-party", msg) if {
	_covenant
	not _request.recipient in _parties
	msg := sprintf(
		"recipient %v %s covenant %s",
		[_request.recipient, _party_status(_request.recipient), _request.covenant],
	)
}

_request_reasons contains lib.reason("no-categories", "no data categories were requested") if {
	count(_requested) == 0
}

default _party_status(_) := "is not a registered partner and so no party to"

_party_status(partner) := "is a registered partner but no party to" if data.ketenpoort.partners[partner]

_request_ok if count(_request_reasons) == 0

# Grants: a grant applies to a category only when it names every element of the request.
# Grants are first narrowed to those naming this provider, recipient, step and purpose, so each
# requested category is looked up only in the few grants that could deliver it.

_named_grants contains grant if {
	_request_ok
	some grant in _covenant.grants
	lib.grant_names(grant, _request.provider, _request.recipient, _request.process_step)
	grant.purpose == _request.purpose
}

# A grant limited to some forms of exploitation applies only to signals about one of them.
_candidate_grants contains grant if {
	some grant in _named_grants
	lib.form_allows(grant, _exploitation_form)
}

# Categories that a grant would deliver for a signal about another form of exploitation.
_other_form_only contains category if {
	some grant in _named_grants
	not lib.form_allows(grant, _exploitation_form)
	some category in grant.categories
}

# [category, grant id, identity] for every grant that applies to a requested category.
_applicable contains [category, grant.id, grant.identity] if {
	some grant in _candidate_grants
	lib.assignment_allows(grant, _recipient_assigned)
	lib.case_manager_allows(grant, _recipient_case_manager)
	some category in grant.categories
	category in _requested
	_categories[category]
}

_granted contains entry[0] if some entry in _applicable

# Categories that a grant would deliver if the recipient were the case's assigned partner.
_awaiting_assignment contains category if {
	not _recipient_assigned
	some grant in _candidate_grants
	grant.requires_assignment == true
	some category in grant.categories
}

# Categories that a grant would deliver if the recipient were the case's case manager.
_awaiting_case_manager contains category if {
	not _recipient_case_manager
	some grant in _candidate_grants
	grant.requires_case_manager == true
	lib.assignment_allows(grant, _recipient_assigned)
	some category in grant.categories
}

# Categories withheld only for want of a relation to the case (assigned partner, case manager).
_awaiting_relation := _awaiting_assignment | _awaiting_case_manager

_special(category) if _categories[category].special != null

_has_legal_basis(category) if trim_space(_categories[category].legal_basis) != ""

_lawful(category) if not _special(category)

_lawful(category) if {
	_special(category)
	_has_legal_basis(category)
}

_delivered contains category if {
	some category in _granted
	_lawful(category)
}

_withheld := _requested - _delivered

# Reasons that concern one category: the category is withheld, the others may still flow.

_category_reasons contains _category_reason("unknown-category", category, msg) if {
	_request_ok
	some category in _requested
	not _categories[category]
	msg := sprintf("category %v is not defined in covenant %s", [category, _request.covenant])
}

_category_reasons contains _category_reason("special-category-without-basis", category, msg) if {
	some category in _granted
	not _lawful(category)
	msg := sprintf(
		"special category %s (%s) has no legal basis in covenant %s",
		[category, _categories[category].special, _request.covenant],
	)
}

_category_reasons contains _category_reason("recipient-not-assigned", category, msg) if {
	some category in _ungranted
	category in _awaiting_assignment
	msg := sprintf(
		"%s may receive %s from %s at %s only as the partner assigned to the case",
		[_request.recipient, category, _request.provider, _request.process_step],
	)
}

_category_reasons contains _category_reason("exploitation-form-not-granted", category, msg) if {
	some category in _ungranted
	not category in _awaiting_relation
	category in _other_form_only
	msg := sprintf(
		"%s may receive %s from %s at %s only for other forms of exploitation than %s",
		[_request.recipient, category, _request.provider, _request.process_step, _exploitation_form],
	)
}

_category_reasons contains _category_reason("recipient-not-case-manager", category, msg) if {
	some category in _ungranted
	category in _awaiting_case_manager
	not category in _awaiting_assignment
	msg := sprintf(
		"%s may receive %s from %s at %s only as the case manager of the case",
		[_request.recipient, category, _request.provider, _request.process_step],
	)
}

_category_reasons contains _category_reason("special-category-without-basis", category, msg) if {
	some category in _ungranted
	not category in _awaiting_relation
	not category in _other_form_only
	_special(category)
	msg := sprintf(
		"special category %s (%s) may not flow from %s to %s at %s: no grant in covenant %s names them",
		[
			category,
			_categories[category].special,
			_request.provider,
			_request.recipient,
			_request.process_step,
			_request.covenant,
		],
	)
}

_category_reasons contains _category_reason("no-grant", category, msg) if {
	some category in _ungranted
	not category in _awaiting_relation
	not category in _other_form_only
	not _special(category)
	msg := sprintf(
		"no grant in covenant %s lets %s provide %s to %s at %s for %s",
		[_request.covenant, _request.provider, category, _request.recipient, _request.process_step, _request.purpose],
	)
}

_ungranted contains category if {
	_request_ok
	some category in _requested
	_categories[category]
	not category in _granted
}

_reasons := _request_reasons | _category_reasons

# The outcome.

default _allowed := false

_allowed if {
	_request_ok
	count(_delivered) > 0
}

_grants_by_category[category] := lib.sorted(ids) if {
	some category in _delivered
	ids := {entry[1] | some entry in _applicable; entry[0] == category}
}

default _identity := "none"

# The strongest identity level among the grants of the delivered categories: a summary of the
# delivery. It is never applied to a person; subject_identities is.
_identity := lib.identity_levels[max(ranks)] if {
	ranks := {lib.identity_rank[entry[2]] | some entry in _applicable; entry[0] in _delivered}
	count(ranks) > 0
}

# The identity level each delivered category allows: the strongest of the grants that deliver
# it, because each applicable grant is a permission of its own.
_identities_by_category[category] := lib.identity_levels[max(ranks)] if {
	some category in _delivered
	ranks := {lib.identity_rank[entry[2]] | some entry in _applicable; entry[0] == category}
}

# The persons of the exchange, each with the categories of the items that name them
# (input.subjects: {"ref": ["category", ...]}); optional, so a request without persons decides.
_subject_categories := object.get(_request, "subjects", {})

# A person's identity level: the most restrictive level among the delivered categories of the
# items that name them. Health data pseudonymised by its grant keeps its person pseudonymised,
# whatever another item of the exchange (about them or about someone else) would allow.
# A person none of whose categories is delivered gets no level: the delivery omits them.
_identity_by_subject[ref] := lib.identity_levels[min(ranks)] if {
	some ref, categories in _subject_categories
	ranks := {lib.identity_rank[_identities_by_category[category]] |
		some category in categories
		_identities_by_category[category]
	}
	count(ranks) > 0
}
