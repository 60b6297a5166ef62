# METADATA
# title: Re-identification decisions
# description: |
#   Decides whether a partner may see the identity behind one of its own pseudonyms. Generic
#   over the covenant data in data.ketenpoort, like the exchange decision. Deny by default: the
#   identity is released only when the pseudonym was delivered to the requester and, for some
#   delivery of it, grants of that delivery's covenant let the delivery's provider disclose
#   every one of the delivery's categories about the person to the requester, identified, at
#   the delivery's step and for its purpose, today.
# related_resources:
#   - ref: https://www.openpolicyagent.org/docs/policy-language
package ketenpoort.reidentification

import data.ketenpoort.lib

# METADATA
# title: Decision
# description: |
#   The entrypoint (ketenpoort/reidentification/decision). The input names the requester,
#   today's date and the deliveries of the pseudonym to the requester, each with its covenant,
#   purpose, process step, provider and the categories that concern the person. The answer is
#   whether the identity may be released, the grants that allow it, the deliveries (indices
#   into input.deliveries) whose identity may be released, and the reasons.
# entrypoint: true
decision := {
	"allowed": _allowed,
	"grants": lib.sorted(_allowing_grants),
	"releasable": lib.sorted(_releasable),
	"reasons": lib.sorted(_reasons),
}

# Tests replace this rule (`with data.ketenpoort.reidentification._request as ...`), as in the
# exchange policy: regopy 1.5.2 crashes on `with input as ...` over rules calling builtins.
_request := input

_today_valid if lib.is_date(_request.today)

_deliveries := object.get(_request, "deliveries", [])

# Named apart from the other packages' helpers: regopy 1.5.2 mixes up functions of the same
# name in different packages.
_reid_covenant_valid(covenant) if {
	_today_valid
	lib.in_force(covenant, _request.today)
}

default _requester_assigned := false

_requester_assigned if _request.requester_assigned == true

# [delivery index, category, grant id] for every identified grant that lets a delivery's
# provider disclose one of the delivery's categories about the person to the requester.
_identifying contains [index, category, grant.id] if {
	some index, delivery in _deliveries
	covenant := data.ketenpoort.covenants[delivery.covenant]
	_reid_covenant_valid(covenant)
	some grant in covenant.grants
	grant.identity == "identified"
	grant.purpose == delivery.purpose
	lib.grant_names(grant, delivery.provider, _request.requester, delivery.process_step)
	lib.assignment_allows(grant, _requester_assigned)
	some category in delivery.categories
	category in grant.categories
}

# A delivery releases the person only when every category it holds about them has such a
# grant: the most restrictive category wins, as for the person's level in the exchange, so
# health data pseudonymised by its grant is never tied to an identity this way either.
_releasable contains index if {
	some index, delivery in _deliveries
	covered := {entry[1] | some entry in _identifying; entry[0] == index}
	count(covered) > 0
	count(covered) == count({category | some category in delivery.categories})
}

_allowing_grants contains entry[2] if {
	some entry in _identifying
	entry[0] in _releasable
}

default _allowed := false

_allowed if count(_releasable) > 0

_reasons contains lib.reason("not-delivered", msg) if {
	count(_deliveries) == 0
	msg := sprintf("the pseudonym was never delivered to %v", [_request.requester])
}

_reasons contains lib.reason("invalid-date", msg) if {
	not _today_valid
	msg := sprintf("today %v is not a date in the form YYYY-MM-DD", [_request.today])
}

_reasons contains lib.reason("covenant-not-valid", msg) if {
	_today_valid
	some delivery in _deliveries
	covenant := data.ketenpoort.covenants[delivery.covenant]
	not _reid_covenant_valid(covenant)
	msg := sprintf("covenant %s is not in force on %s", [delivery.covenant, _request.today])
}

_reasons contains lib.reason("unknown-covenant", msg) if {
	some delivery in _deliveries
	not data.ketenpoort.covenants[delivery.covenant]
	msg := sprintf("covenant %v is not known", [delivery.covenant])
}

_reasons contains lib.reason("no-identified-grant", msg) if {
	count(_deliveries) > 0
	count(_releasable) == 0
	msg := sprintf(
		"no grant lets %v see the identity behind this pseudonym at the step it was delivered",
		[_request.requester],
	)
}
