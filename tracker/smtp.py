"""Sending one email over an open smtplib connection, with command
pipelining (RFC 2920) when the server offers it.

smtplib's `sendmail` waits for the answer to each of MAIL, RCPT and DATA
before sending the next: four round trips per message. A server that
advertises PIPELINING (Postfix, Exim and the large mail services do) accepts
the three commands in one write; the client then reads the three answers,
sends the message, and reads the last answer: two round trips. Errors are
reported exactly as `sendmail` reports them for one recipient
(SMTPSenderRefused, SMTPRecipientsRefused, SMTPDataError, and
SMTPServerDisconnected), and the connection is left as `sendmail` leaves it
(reset after a refusal, closed after a 421), so the caller's handling of
failures does not depend on which path was taken.
"""

from __future__ import annotations

import re
import smtplib

_CRLF = b"\r\n"
_LEADING_PERIOD = re.compile(rb"(?m)^\.")


def sendmail(smtp: smtplib.SMTP, sender: str, recipient: str, message: bytes, *, pipelining: bool = True) -> None:
    """Send `message` (bytes with CRLF line ends) from `sender` to `recipient`."""
    smtp.ehlo_or_helo_if_needed()
    if not (pipelining and smtp.does_esmtp and smtp.has_extn("pipelining")):
        smtp.sendmail(sender, [recipient], message)
        return
    options = f" SIZE={len(message)}" if smtp.has_extn("size") else ""
    smtp.send(f"MAIL FROM:{smtplib.quoteaddr(sender)}{options}\r\nRCPT TO:{smtplib.quoteaddr(recipient)}\r\nDATA\r\n")
    # Every answer is read, whatever the first ones said: they are on the wire.
    mail_code, mail_reply = smtp.getreply()
    rcpt_code, rcpt_reply = smtp.getreply()
    data_code, data_reply = smtp.getreply()
    if data_code == 354:
        # The server took DATA although MAIL or RCPT failed (it should not):
        # end the message at once, so that nothing is delivered.
        if mail_code != 250 or rcpt_code not in (250, 251):
            smtp.send(b"." + _CRLF)
            smtp.getreply()
    if mail_code != 250:
        _after_refusal(smtp, mail_code)
        raise smtplib.SMTPSenderRefused(mail_code, mail_reply, sender)
    if rcpt_code not in (250, 251):
        _after_refusal(smtp, rcpt_code)
        raise smtplib.SMTPRecipientsRefused({recipient: (rcpt_code, rcpt_reply)})
    if data_code != 354:
        _after_refusal(smtp, data_code)
        raise smtplib.SMTPDataError(data_code, data_reply)
    body = _LEADING_PERIOD.sub(b"..", message)
    if not body.endswith(_CRLF):
        body += _CRLF
    smtp.send(body + b"." + _CRLF)
    code, reply = smtp.getreply()
    if code != 250:
        _after_refusal(smtp, code)
        raise smtplib.SMTPDataError(code, reply)


def _after_refusal(smtp: smtplib.SMTP, code: int) -> None:
    """What sendmail does after a refusal: close on 421 (the server is going
    away), otherwise reset the transaction so the connection can go on."""
    if code == 421:
        smtp.close()
    else:
        smtp._rset()  # type: ignore[attr-defined]  # smtplib's own "RSET, ignoring a disconnect"; private, so not in typeshed
