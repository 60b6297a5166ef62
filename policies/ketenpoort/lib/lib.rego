# METADATA
# title: Shared helpers
# description: |
#   What the exchange, re-identification and agenda policies have in common: identity levels,
#   sorted answers, reasons, dates, a covenant's validity and parties, and whether a grant names
#   a disclosure. Constants and pure functions only: nothing here reads input or data, so each
#   policy keeps its own request rule that its tests replace. Defined once, these functions
#   also keep clear of regopy 1.5.2 mixing up functions of the same name in different packages.
# related_resources:
#   - ref: https://www.openpolicyagent.org/docs/policy-language
package ketenpoort.lib

# A grant's identity levels, weakest first (gateway.policy.interfaces.IDENTITY_LEVELS).
identity_levels := ["none", "pseudonym", "identified"]

# Each level's index in identity_levels: the higher the rank, the more a level identifies.
identity_rank := {level: rank | some rank, level in identity_levels}

# An array in ascending order. The explicit array comprehension matters: regopy 1.5.2's sort
# returns a set when given one, where OPA returns an array.
sorted(collection) := sort([item | some item in collection])

# A reason as the gateway reads it (gateway.policy.interfaces.Reason).
reason(code, message) := {"code": code, "message": message}

# A date in the form YYYY-MM-DD: the policies compare dates as text, which orders only these.
is_date(value) if {
	is_string(value)
	regex.match(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`, value)
}

# Whether a covenant is in force on a day, its first and last day included.
in_force(covenant, day) if {
	day >= covenant.valid_from
	day <= covenant.valid_until
}

# The partner ids of a covenant's parties.
parties(covenant) := {party.partner | some party in covenant.parties}

# Whether a grant names the disclosure from provider to recipient at a process step. The
# purpose, identity level and assignment are left to each policy.
grant_names(grant, provider, recipient, step) if {
	provider in grant.providers
	recipient in grant.recipients
	step in grant.process_steps
}

# Whether a grant's requires_assignment is met; assigned tells whether the recipient is the
# partner assigned to the case (true or false, never undefined).
assignment_allows(grant, _) if not grant.requires_assignment

assignment_allows(_, assigned) if assigned == true

# Whether a grant's exploitation_forms admits a signal about form (a form of exploitation);
# a grant without exploitation_forms applies to every form.
form_allows(grant, _) if not grant.exploitation_forms

form_allows(grant, form) if form in grant.exploitation_forms

# Whether a grant's requires_case_manager is met; manager tells whether the recipient is the
# case manager of the case the exchange names (true or false, never undefined).
case_manager_allows(grant, _) if not grant.requires_case_manager

case_manager_allows(_, manager) if manager == true
