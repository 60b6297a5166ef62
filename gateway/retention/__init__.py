"""Retention: records past their covenant's term are removed, identities crypto-shredded."""
