"""The outbox tests' local receivers serve the adapter tests too."""

from tests.outbox.conftest import smtp_server, webhook_receiver

__all__ = ["smtp_server", "webhook_receiver"]
