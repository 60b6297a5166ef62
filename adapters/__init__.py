"""Outbound channels: how a delivery leaves the gateway (webhook, e-mail)."""
