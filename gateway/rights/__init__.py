"""Data-subject rights beyond access: rectification, restriction and objection (AVG 16-21)."""
