"""Exchanges: a partner sends items about persons to recipients under a covenant."""
