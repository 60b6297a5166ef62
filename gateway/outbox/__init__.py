"""The transactional outbox: deliveries written with the action, drained by a dispatcher."""
