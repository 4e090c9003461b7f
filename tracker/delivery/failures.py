"""What a failed send means: SMTP errors sorted into five kinds, each with its
own consequence for the row, and the countdown before a retry."""

from __future__ import annotations

import random
import smtplib
import socket
from dataclasses import dataclass

from django.conf import settings

# What sending can raise that says something about the mail system rather
# than about our code. Anything else propagates: a bug is not retried.
SEND_ERRORS: tuple[type[BaseException], ...] = (smtplib.SMTPException, TimeoutError, ConnectionError, socket.gaierror)

MAX_RETRY_COUNTDOWN = 300

RECIPIENT_PERMANENT = "recipient-permanent"  # 5xx on RCPT: stop all mail to the address
MESSAGE_PERMANENT = "message-permanent"  # 5xx on DATA, malformed address: this message only
MESSAGE_TRANSIENT = "message-transient"  # 4xx on RCPT/DATA: retry this message; the connection is fine
CONNECTION_TRANSIENT = "connection-transient"  # disconnect, timeout, 421: retry the rest of the batch
CONNECTION_PERMANENT = "connection-permanent"  # 5xx outside RCPT/DATA (auth, sender): leave for the sweeper


@dataclass(frozen=True)
class SendFailure:
    kind: str
    text: str

    @property
    def transient(self) -> bool:
        return self.kind in (MESSAGE_TRANSIENT, CONNECTION_TRANSIENT)

    @property
    def stops_batch(self) -> bool:
        return self.kind in (CONNECTION_TRANSIENT, CONNECTION_PERMANENT)


def _text(value: object) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return " ".join(str(value).split())[:400]


def smtp_failure(exc: BaseException) -> SendFailure:
    """Classify an exception from opening a connection or sending one message."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(exc.recipients.values()), (0, b""))
        text = f"Recipient refused: {code} {_text(reply)}"
        return SendFailure(RECIPIENT_PERMANENT if 500 <= code < 600 else MESSAGE_TRANSIENT, text)
    if isinstance(exc, smtplib.SMTPResponseException):
        code, text = exc.smtp_code, f"{type(exc).__name__}: {exc.smtp_code} {_text(exc.smtp_error)}"
        if code == 421:  # service closing the channel
            return SendFailure(CONNECTION_TRANSIENT, text)
        if isinstance(exc, smtplib.SMTPDataError):
            return SendFailure(MESSAGE_TRANSIENT if 400 <= code < 500 else MESSAGE_PERMANENT, text)
        return SendFailure(CONNECTION_TRANSIENT if 400 <= code < 500 else CONNECTION_PERMANENT, text)
    if isinstance(exc, (smtplib.SMTPServerDisconnected, TimeoutError, ConnectionError, socket.gaierror)):
        return SendFailure(CONNECTION_TRANSIENT, f"{type(exc).__name__}: {_text(exc)}")
    if isinstance(exc, ValueError):  # an address or header Django refuses to encode
        return SendFailure(MESSAGE_PERMANENT, f"Cannot be sent: {_text(exc)}")
    return SendFailure(CONNECTION_PERMANENT, f"{type(exc).__name__}: {_text(exc)}")


def retry_countdown(retries: int) -> int:
    """Seconds before retry number `retries` + 1: exponential, jittered, and
    capped at minutes, far below the broker's visibility timeout."""
    base = settings.TRACKER_RETRY_BASE
    return int(min(base * 2**retries, MAX_RETRY_COUNTDOWN) + random.uniform(0, base))
