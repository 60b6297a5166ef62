"""The log core: the tamper-evident access log, independent of the gateway's rooms.

Append, sequence, checkpoint, prove (:mod:`audit.log`), export (:mod:`audit.export`), and verify
offline (:mod:`audit.verify`, :mod:`audit.witness`). Its shell in the gateway is
``gateway/auditing/``: who may read which entry, subject access, the HTTP API and CLI, the
sequencer thread. The core imports nothing of the gateway but ``gateway.db``'s declarative base
and transaction helper (:mod:`audit.models`, :mod:`audit.log`), because the log lives in the
gateway's database and its migrations; the offline verifier and witness import nothing of the
gateway at all (``tests/test_architecture.py`` checks both).

This package's ``__init__`` imports nothing on purpose: :mod:`audit.verify` must run offline
with only :mod:`audit.merkle`, :mod:`audit.note` and the standard library loaded.
"""
