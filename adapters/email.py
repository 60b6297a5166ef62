"""E-mail channel: the message as a plain-text JSON document over SMTP (smtplib).

The Message-ID is derived from the delivery id, so a mail server or reader can recognise a
retried copy of a message it already has.
"""

from __future__ import annotations

import json
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage

from adapters.interfaces import ChannelError, OutboundMessage


@dataclass
class EmailChannel:
    host: str
    port: int
    sender: str
    starttls: bool = False
    timeout_seconds: float = 10.0
    name: str = "email"

    def send(self, message: OutboundMessage) -> None:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.address
        mail["Subject"] = message.subject
        mail["Message-ID"] = f"<{message.delivery_id}@ketenpoort>"
        mail.set_content(json.dumps(message.body, indent=2, ensure_ascii=False))
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_seconds) as smtp:
                if self.starttls:
                    smtp.starttls()
                smtp.send_message(mail)
        except (OSError, smtplib.SMTPException) as exc:
            raise ChannelError(f"SMTP delivery failed: {exc}") from exc
