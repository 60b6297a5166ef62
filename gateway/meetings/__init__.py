"""Case meetings: the agenda, routed per participant by the policy, published via the outbox."""
