"""Fuzzy linkage of persons: keyed Bloom filters at intake, candidate pairs reviewed by the RIEC."""
