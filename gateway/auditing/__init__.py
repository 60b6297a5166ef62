"""The shell around the audit log core (:mod:`audit`): HTTP read API, CLI and sequencer runner.

Roles, as elsewhere in the gateway:

* :mod:`gateway.auditing.queries` parses request parameters into typed queries (no Flask);
* :mod:`gateway.auditing.services` answers them from the database and audits every read;
* :mod:`gateway.auditing.integrity` verifies the live log end to end from its rows;
* :mod:`gateway.auditing.runner` keeps the sequencer running and tells whether it keeps up;
* :mod:`gateway.auditing.views` and :mod:`gateway.auditing.cli` are the thin adapters.
"""
