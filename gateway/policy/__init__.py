"""The policy decision room: covenants as data, Rego as the rules, one decision per recipient.

``covenants`` loads and checks the covenant data and Rego modules into a :class:`PolicyBundle`;
``regopy_engine`` and ``opa_engine`` evaluate that bundle in-process or on an OPA server;
``services`` turns engine output into :class:`Decision` objects and fails closed.
"""
