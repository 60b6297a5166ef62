"""Deliveries: each recipient's own view of an exchange, and the inbox it is fetched from."""
