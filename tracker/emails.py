"""One function per kind of email, each rendering a subject, a plain-text body
and an HTML body from three templates under templates/tracker/email/.

Nothing here sends: the delivery services hand these messages to an open
SMTP connection. Every subscriber email carries absolute links built from
SITE_URL, a deterministic Message-ID (so duplicates are visible at the
receiving end), List-Unsubscribe with one-click POST (RFC 8058) and
Auto-Submitted (RFC 3834). The confirmation email, the only one that goes to
an unconfirmed address, carries no change content.

Mail to many subscribers is rendered once and addressed many times
(`Personaliser`): the templates run once per content (a change, or a
digest's list of changes), with placeholders for what differs per recipient
(the address, the Message-ID, the signed manage and unsubscribe links), and
each recipient's email is those bytes with the placeholders replaced. The
result is the same email Django would build for that recipient (a test
compares them); an address or a content that cannot be substituted safely
(non-ASCII, quoted-printable or base64 bodies) is built in full instead.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import sanitize_address
from django.template.loader import render_to_string
from django.urls import get_script_prefix, reverse

from regulatory.models import Change
from tracker import selectors, tokens
from tracker.models import Cadence, DigestDelivery, Notification, Subscriber, Subscription

_MAX_SUBJECT_LENGTH = 180


def site_host() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def absolute_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


_PLAIN_TOKEN = re.compile(r"[A-Za-z0-9_:\-]+\Z")  # what signing produces; reverse() leaves it as it is


@functools.lru_cache(maxsize=32)
def _around_token(name: str, urlconf: str, script_prefix: str) -> tuple[str, str]:
    """The path of URL `name` before and after its token: reverse() once per
    process instead of twice per email."""
    marker = "x0token0x"
    before, found, after = reverse(name, args=[marker]).partition(marker)
    assert found, name
    return before, after


def _token_url(name: str, token: str) -> str:
    if not _PLAIN_TOKEN.match(token):
        return absolute_url(reverse(name, args=[token]))
    before, after = _around_token(name, settings.ROOT_URLCONF, get_script_prefix())
    return f"{settings.SITE_URL}{before}{token}{after}"


def manage_url(subscriber: Subscriber) -> str:
    return _token_url("tracker-manage", tokens.manage_token_make(subscriber))


def unsubscribe_url(subscriber: Subscriber) -> str:
    return _token_url("tracker-unsubscribe", tokens.unsubscribe_token_make(subscriber))


def confirm_url(subscription: Subscription) -> str:
    return absolute_url(reverse("tracker-confirm", args=[tokens.confirm_token_make(subscription)]))


def _subject(template: str, context: dict) -> str:
    # Collapsing all whitespace removes any line break an editor typed into a
    # title, so nothing can start a new header line.
    subject = " ".join(render_to_string(template, context).split())
    if len(subject) > _MAX_SUBJECT_LENGTH:
        subject = subject[: _MAX_SUBJECT_LENGTH - 1] + "…"
    return subject


def _message(*, kind: str, context: dict, to: str, message_id: str, headers: dict[str, str]) -> EmailMultiAlternatives:
    context = {"SITE_NAME": settings.SITE_NAME, "SITE_URL": settings.SITE_URL, **context}
    message = EmailMultiAlternatives(
        subject=_subject(f"tracker/email/{kind}_subject.txt", context),
        body=render_to_string(f"tracker/email/{kind}_body.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers={"Message-ID": message_id, "Auto-Submitted": "auto-generated", **headers},
    )
    message.attach_alternative(render_to_string(f"tracker/email/{kind}_body.html", context), "text/html")
    return message


@dataclass(frozen=True)
class Recipient:
    """What differs between two subscribers' copies of one email."""

    email: str
    message_id: str
    manage_url: str
    unsubscribe_url: str

    @classmethod
    def of(cls, subscriber: Subscriber, *, message_id: str) -> Recipient:
        return cls(
            email=subscriber.email,
            message_id=message_id,
            manage_url=manage_url(subscriber),
            unsubscribe_url=unsubscribe_url(subscriber),
        )

    @property
    def links(self) -> dict[str, str]:
        return {"manage_url": self.manage_url, "unsubscribe_url": self.unsubscribe_url}


def _list_headers(recipient: Recipient) -> tuple[dict[str, str], dict[str, str]]:
    """Headers for mail to a subscriber, and the links the body repeats."""
    links = recipient.links
    headers = {
        "List-Id": f"Regulatory tracker alerts <alerts.{site_host()}>",
        "List-Unsubscribe": f"<{links['unsubscribe_url']}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Precedence": "bulk",
        "X-Auto-Response-Suppress": "All",
    }
    return headers, links


def confirmation_message(subscription: Subscription) -> EmailMultiAlternatives:
    """Ask the owner of an address to confirm one subscription."""
    subscriber = subscription.subscriber
    context = {
        "confirm_url": confirm_url(subscription),
        "cadence": subscription.get_cadence_display(),
        "max_age_days": settings.TRACKER_CONFIRM_MAX_AGE_DAYS,
    }
    return _message(
        kind="confirm",
        context=context,
        to=subscriber.email,
        message_id=f"<confirm-{subscription.pk}@{site_host()}>",
        headers={},
    )


def change_context(change: Change, cells: Sequence[selectors.CellTransition] = ()) -> dict:
    """What an email says about one change (shared by instant mail and digests);
    `cells`: the matrix cells it moves (`selectors.change_cell_transitions`)."""
    decision = change.decision
    return {
        "cell_changes": list(cells),
        "change": change,
        "decision": decision,
        "kind_label": selectors.CHANGE_KIND_LABELS.get(change.kind, change.get_kind_display()),
        "late_reported": change.late_reported,
        "diff_lines": selectors.change_diff_lines(change),
        "therapies": list(decision.therapies.all()),
        "sources": list(decision.sources.all()),
        "decision_url": absolute_url(decision.get_absolute_url()),
    }


def notification_recipient(notification: Notification) -> Recipient:
    return Recipient.of(notification.subscriber, message_id=f"<notification-{notification.pk}@{site_host()}>")


def digest_recipient(delivery: DigestDelivery) -> Recipient:
    return Recipient.of(delivery.subscriber, message_id=f"<digest-{delivery.pk}@{site_host()}>")


def change_email(change: Change, recipient: Recipient) -> EmailMultiAlternatives:
    """The instant email about one change, for one subscriber."""
    headers, links = _list_headers(recipient)
    cells = selectors.change_cell_transitions([change]).get(change.pk, [])
    context = {**change_context(change, cells), **links}
    return _message(
        kind="change", context=context, to=recipient.email, message_id=recipient.message_id, headers=headers
    )


def digest_email(
    cadence: str, period: str, changes: Sequence[Change], recipient: Recipient, *, first: bool = False
) -> EmailMultiAlternatives:
    """The daily or weekly digest: changes grouped by jurisdiction and therapy.
    `first`: the subscriber's first digest of this cadence, which cannot say
    "since your last digest"."""
    headers, links = _list_headers(recipient)
    cells = selectors.change_cell_transitions(changes)
    groups = [
        {
            "jurisdiction": g.jurisdiction,
            "therapies": g.therapies,
            "entries": [change_context(c, cells.get(c.pk, ())) for c in g.changes],
        }
        for g in selectors.digest_groups(changes)
    ]
    context = {
        "cadence_label": "Weekly" if cadence == Cadence.WEEKLY else "Daily",
        "first": first,
        "period": selectors.digest_period_display(period),
        "groups": groups,
        "count": len(changes),
        **links,
    }
    return _message(
        kind="digest", context=context, to=recipient.email, message_id=recipient.message_id, headers=headers
    )


# --- Rendering once, addressing many times ---------------------------------------

# Stand-ins for what differs per recipient: plain ASCII that no template,
# escaping or header folding changes, and that no real content contains.
_PLACEHOLDER = Recipient(
    email="recipient@x-tracker-placeholder.invalid",
    message_id="<message-id@x-tracker-placeholder.invalid>",
    manage_url="https://x-tracker-placeholder.invalid/manage-url",
    unsubscribe_url="https://x-tracker-placeholder.invalid/unsubscribe-url",
)
_FIELDS = ("email", "message_id", "manage_url", "unsubscribe_url")
_STAND_IN = {name: getattr(_PLACEHOLDER, name).encode() for name in _FIELDS}
_FIELD_OF = {value: name for name, value in _STAND_IN.items()}
_PLACEHOLDER_PATTERN = re.compile(b"|".join(re.escape(value) for value in _FIELD_OF))
_MAX_LINE = 998  # RFC 5322; Django's limit for an 8bit body line
# Bodies Django encodes (lines over 998 bytes, or a non-UTF-8 charset) would
# need each value encoded too: those emails are built in full.
_ENCODED_PART = re.compile(rb"^Content-Transfer-Encoding:\s*(quoted-printable|base64)", re.IGNORECASE | re.MULTILINE)
# A value goes into the bytes as it is only when nothing would change it:
# no HTML escaping (& < > " '), no header folding (whitespace , ;), no encoding
# (non-ASCII). Anything else is built in full, which is always right.
_SAFE_URL = re.compile(r"[A-Za-z0-9\-._~:/?#@!$()*+=%\[\]]*\Z")
# A dot-atom local part and an ASCII host name: what sanitize_address()
# returns unchanged (a test checks it), without its parser per email.
_ATOM = r"[A-Za-z0-9!#$%*+/=?^_`{|}~\-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
_SAFE_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})+\Z")
_SAFE_MESSAGE_ID = re.compile(r"<[A-Za-z0-9\-._@]+>\Z")


def from_address() -> str:
    """The envelope sender, as Django's SMTP backend gives it."""
    return sanitize_address(settings.DEFAULT_FROM_EMAIL, settings.DEFAULT_CHARSET)


@dataclass(frozen=True)
class Outgoing:
    """One email ready to go: its bytes for an SMTP connection when they could
    be made by substitution, and always the full Django message on demand."""

    recipient: Recipient
    raw: bytes | None
    _build: Callable[[], EmailMultiAlternatives]

    @property
    def message_id(self) -> str:
        return self.recipient.message_id

    @property
    def envelope_to(self) -> str:
        if self.raw is not None:  # made by substitution: the address is one sanitize_address keeps as it is
            return self.recipient.email
        return sanitize_address(self.recipient.email, settings.DEFAULT_CHARSET)

    def message(self) -> EmailMultiAlternatives:
        return self._build()


class _Rendered:
    """An email rendered for the placeholder recipient, as SMTP bytes: the
    top-level headers (those naming the recipient are folded again per
    recipient, exactly as the email package folds them) and the body."""

    def __init__(self, headers: list[tuple[str, str]], body: bytes, policy) -> None:
        self.policy = policy
        # Each header as bytes, or (name, value) when it names the recipient.
        self.headers: list[bytes | tuple[str, str]] = [
            (name, value) if _PLACEHOLDER_PATTERN.search(value.encode()) else policy.fold_binary(name, value)
            for name, value in headers
        ]
        self.body = body
        # Body lines that hold stand-ins: (length, how many of each). Django
        # encodes a body with a line over 998 bytes, so a recipient whose
        # values would make one that long gets the email built in full.
        self.long_line_risks = [
            (len(line), {name: line.count(_STAND_IN[name]) for name in _FIELDS})
            for line in body.split(b"\r\n")
            if _PLACEHOLDER_PATTERN.search(line)
        ]
        self.boundaries = re.findall(
            rb'boundary="([^"]+)"', b"".join(h for h in self.headers if isinstance(h, bytes)) + body
        )

    @classmethod
    def of(cls, message: EmailMultiAlternatives) -> _Rendered | None:
        mime = message.message()
        raw = mime.as_bytes(linesep="\r\n")  # type: ignore[call-arg]  # Django's MIMEMixin.as_bytes takes it; the stubs say Message
        head, separator, body = raw.partition(b"\r\n\r\n")
        if not separator or _ENCODED_PART.search(raw):
            return None
        rendered = cls(list(mime.raw_items()), body, mime.policy.clone(linesep="\r\n"))
        # Folding the headers again must give what the generator wrote, or
        # this is not a message the fast path understands.
        return rendered if rendered.fill(_PLACEHOLDER) == raw else None

    def fill(self, recipient: Recipient) -> bytes | None:
        values = {name: getattr(recipient, name).encode() for name in _FIELDS}
        if any(boundary in value for value in values.values() for boundary in self.boundaries):
            return None
        growth = {name: len(values[name]) - len(_STAND_IN[name]) for name in _FIELDS}
        if any(
            length + sum(count * growth[name] for name, count in counts.items()) > _MAX_LINE
            for length, counts in self.long_line_risks
        ):
            return None

        def substitute(data: bytes) -> bytes:
            return _PLACEHOLDER_PATTERN.sub(lambda match: values[_FIELD_OF[match.group()]], data)

        head = b"".join(
            header
            if isinstance(header, bytes)
            else self.policy.fold_binary(header[0], substitute(header[1].encode()).decode())
            for header in self.headers
        )
        return head + b"\r\n" + substitute(self.body)


class Personaliser:
    """Renders each distinct content once and addresses it to each recipient.

    `render(recipient)` must build the email for any recipient from one
    content; `key` names that content (a change id, a digest's cadence,
    period and change ids). Kept for one batch: a Date header and the
    content are as of the batch."""

    def __init__(self) -> None:
        self._rendered: dict[Hashable, _Rendered | None] = {}

    def knows(self, key: Hashable) -> bool:
        """Whether the content `key` names has been rendered already."""
        return key in self._rendered

    def outgoing(
        self, *, key: Hashable, recipient: Recipient, render: Callable[[Recipient], EmailMultiAlternatives]
    ) -> Outgoing:
        return Outgoing(recipient, self._raw(key, recipient, render), lambda: render(recipient))

    def _raw(
        self, key: Hashable, recipient: Recipient, render: Callable[[Recipient], EmailMultiAlternatives]
    ) -> bytes | None:
        if not _substitutable(recipient):
            return None
        if key not in self._rendered:
            self._rendered[key] = _Rendered.of(render(_PLACEHOLDER))
        rendered = self._rendered[key]
        return rendered.fill(recipient) if rendered is not None else None


def _substitutable(recipient: Recipient) -> bool:
    """True when the recipient's values go into the bytes unchanged: Django
    would neither encode the address nor escape the links."""
    return bool(
        _SAFE_URL.match(recipient.manage_url)
        and _SAFE_URL.match(recipient.unsubscribe_url)
        and _SAFE_MESSAGE_ID.match(recipient.message_id)
        and _SAFE_ADDRESS.match(recipient.email)
    )
