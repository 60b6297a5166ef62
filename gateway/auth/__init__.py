"""OAuth 2.0 client-credentials authentication for partner systems.

``interfaces`` holds the values other packages depend on (:class:`Principal`, the scope list);
``services`` issues and verifies access tokens and manages clients without knowing about the web;
``oauth_server`` adapts those services to authlib's framework-neutral OAuth 2.0 core; ``views``,
``guard`` and ``cli`` are the thin Flask and click edges.
"""
