"""The tamper-evident access log: append, sequence, checkpoint, prove, export and verify.

This package's ``__init__`` imports nothing on purpose: :mod:`audit.verify` must run offline
with only :mod:`audit.merkle`, :mod:`audit.note` and the standard library loaded.
"""
