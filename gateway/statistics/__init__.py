"""Management information for the RIEC's analyses: aggregates only, never below a minimum cell."""
