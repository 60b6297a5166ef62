"""Ketenpoort: the broker between partner systems of the regional chain approach.

Nothing happens at import time; build an application with :func:`gateway.app.create_app`.
"""
