# METADATA
# title: Agenda views
# description: |
#   Decides, for each (participant, case) on a case meeting's agenda, how much of the agenda
#   item that participant sees: hidden, title_only, pseudonymised or full. Generic over the
#   covenant data in data.ketenpoort, like the exchange decision: the view follows from the
#   grants that let the covenant's regie party share with the participant at the case's step,
#   and from the participant's involvement in the case. Deny by default: hidden.
#   Many questions are answered in one evaluation, so a whole agenda costs one policy call.
# related_resources:
#   - ref: https://www.openpolicyagent.org/docs/policy-language
package ketenpoort.meeting

import data.ketenpoort.lib

# METADATA
# title: Agenda views
# description: |
#   The entrypoint (ketenpoort/meeting/agenda_views). The input names a covenant, today's
#   date and a list of queries, each a participant, a case step, the participant's
#   involvement in that case (case_manager, assigned or null) and case_manager: true when
#   the participant is the case's case manager (also when it is assigned as well). The
#   answer holds the covenant version and one view with its reason code per query, in
#   query order.
# entrypoint: true
agenda_views := {
	"views": _views,
	"covenant_version": _covenant_version,
}

# In query order: an array comprehension over an array keeps its order, in OPA and regopy.
_views := [_agenda_answer(query) | some query in _request.queries]

# Tests replace this rule (`with data.ketenpoort.meeting._request as ...`), as in the
# exchange policy: regopy 1.5.2 crashes on `with input as ...` over rules calling builtins.
_request := input

_involvements := {"case_manager", "assigned"}

# At the weighing step the meeting decides who takes the case up: every party with a grant
# at that step weighs it, pseudonymised, whether or not it is involved yet.
_deliberation_steps := {"weging_kwalificatie"}

_covenant := data.ketenpoort.covenants[_request.covenant]

default _covenant_version := null

_covenant_version := _covenant.version

_covenant_valid if {
	is_string(_request.today)
	lib.in_force(_covenant, _request.today)
}

_parties := lib.parties(_covenant)

_regie contains party.partner if {
	some party in _covenant.parties
	party.role == "regie"
}

default _assigned(_) := false

_assigned(query) if query.involvement == "assigned"

# Its own field, not read from involvement: a case manager that is also the assigned partner
# has involvement "assigned" and is still the case manager. Only boolean true counts.
default _case_manager(_) := false

_case_manager(query) if query.case_manager == true

# Identity ranks of the grants letting a regie party share with the participant at the step.
_grant_ranks(query) := {lib.identity_rank[grant.identity] |
	some grant in _covenant.grants
	_grant_reaches(grant, query)
}

_grant_reaches(grant, query) if {
	some regie in _regie
	lib.grant_names(grant, regie, query.participant, query.step)
	lib.assignment_allows(grant, _assigned(query))
	lib.case_manager_allows(grant, _case_manager(query))
}

_agenda_answer(query) := {"view": decision[0], "reason": decision[1]} if {
	decision := _agenda_view(query)
}

_agenda_view(query) := ["hidden", "covenant-not-valid"] if {
	not _covenant_valid
} else := ["hidden", "not-a-party"] if {
	not query.participant in _parties
} else := ["full", "regie"] if {
	query.participant in _regie
} else := _involved_view(query) if {
	query.involvement in _involvements
} else := _uninvolved_view(query)

# The case manager and the assigned partner always know the case is on the agenda; how much
# more they see follows from the strongest grant that reaches them at this step.
_involved_view(query) := ["full", "involved-identified"] if {
	2 in _grant_ranks(query)
} else := ["pseudonymised", "involved-pseudonym"] if {
	1 in _grant_ranks(query)
} else := ["title_only", "involved-without-grant"]

_uninvolved_view(query) := ["pseudonymised", "deliberation"] if {
	query.step in _deliberation_steps
	some rank in _grant_ranks(query)
	rank >= 1
} else := ["title_only", "not-involved"] if {
	count(_grant_ranks(query)) > 0
} else := ["hidden", "no-grant"]
