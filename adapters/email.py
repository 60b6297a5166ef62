"""E-mail channel: the message's readable text (else its JSON document) over SMTP (smtplib).

The Message-ID is derived from the delivery id, so a mail server or reader can recognise a
retried copy of a message it already has.

TLS is required by default: STARTTLS with the server's certificate verified (system trust
store, or ``ca_bundle``). A server that offers no STARTTLS, or a certificate that does not
verify, fails the attempt before a byte of the message is sent. ``starttls=False`` sends in
plaintext and is meant for a mail relay on the same host only.
"""

from __future__ import annotations

import json
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage

from adapters.interfaces import ChannelError, OutboundMessage


@dataclass
class EmailChannel:
    host: str
    port: int
    sender: str
    starttls: bool = True
    timeout_seconds: float = 10.0
    ca_bundle: str | None = None
    name: str = "email"

    def send(self, message: OutboundMessage) -> None:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.address
        mail["Subject"] = message.subject
        mail["Message-ID"] = f"<{message.delivery_id}@ketenpoort>"
        mail.set_content(message.text if message.text is not None
                         else json.dumps(message.body, indent=2, ensure_ascii=False))
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_seconds) as smtp:
                if self.starttls:
                    # Raises when the server offers no STARTTLS or its certificate fails:
                    # nothing is sent in the clear instead.
                    smtp.starttls(context=ssl.create_default_context(cafile=self.ca_bundle or None))
                smtp.send_message(mail)
        except (OSError, smtplib.SMTPException) as exc:
            raise ChannelError(f"SMTP delivery failed: {exc}") from exc
