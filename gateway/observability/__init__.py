"""Observability: what the gateway reports about itself (metrics) beside its JSON logs."""
