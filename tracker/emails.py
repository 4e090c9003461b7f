"""One function per kind of email, each rendering a subject, a plain-text body
and an HTML body from three templates under templates/tracker/email/.

Nothing here sends: the delivery services hand these messages to an open
SMTP connection. Every subscriber email carries absolute links built from
SITE_URL, a deterministic Message-ID (so duplicates are visible at the
receiving end), List-Unsubscribe with one-click POST (RFC 8058) and
Auto-Submitted (RFC 3834). The confirmation email, the only one that goes to
an unconfirmed address, carries no change content.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from regulatory.models import Change
from tracker import selectors, tokens
from tracker.models import Cadence, DigestDelivery, Notification, Subscriber, Subscription

_MAX_SUBJECT_LENGTH = 180


def site_host() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def absolute_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def manage_url(subscriber: Subscriber) -> str:
    return absolute_url(reverse("tracker-manage", args=[tokens.manage_token_make(subscriber)]))


def unsubscribe_url(subscriber: Subscriber) -> str:
    return absolute_url(reverse("tracker-unsubscribe", args=[tokens.unsubscribe_token_make(subscriber)]))


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


def _list_headers(subscriber: Subscriber) -> tuple[dict[str, str], dict[str, str]]:
    """Headers for mail to a subscriber, and the links the body repeats."""
    links = {"manage_url": manage_url(subscriber), "unsubscribe_url": unsubscribe_url(subscriber)}
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
        kind="confirm", context=context, to=subscriber.email,
        message_id=f"<confirm-{subscription.pk}@{site_host()}>", headers={},
    )


def change_context(change: Change) -> dict:
    """What an email says about one change (shared by instant mail and digests)."""
    decision = change.decision
    return {
        "change": change,
        "decision": decision,
        "kind_label": selectors.CHANGE_KIND_LABELS.get(change.kind, change.get_kind_display()),
        "late_reported": change.late_reported,
        "diff_lines": selectors.change_diff_lines(change),
        "therapies": list(decision.therapies.all()),
        "sources": list(decision.sources.all()),
        "decision_url": absolute_url(decision.get_absolute_url()),
    }


def change_message(*, notification: Notification, change: Change) -> EmailMultiAlternatives:
    """The instant email about one change, for one subscriber."""
    headers, links = _list_headers(notification.subscriber)
    context = {**change_context(change), **links}
    return _message(
        kind="change", context=context, to=notification.subscriber.email,
        message_id=f"<notification-{notification.pk}@{site_host()}>", headers=headers,
    )


def digest_message(*, delivery: DigestDelivery, changes: Sequence[Change]) -> EmailMultiAlternatives:
    """The daily or weekly digest: changes grouped by jurisdiction and therapy."""
    headers, links = _list_headers(delivery.subscriber)
    groups = [
        {"jurisdiction": g.jurisdiction, "therapies": g.therapies, "entries": [change_context(c) for c in g.changes]}
        for g in selectors.digest_groups(changes)
    ]
    context = {
        "cadence_label": "Weekly" if delivery.cadence == Cadence.WEEKLY else "Daily",
        "period": delivery.period,
        "groups": groups,
        "count": len(changes),
        **links,
    }
    return _message(
        kind="digest", context=context, to=delivery.subscriber.email,
        message_id=f"<digest-{delivery.pk}@{site_host()}>", headers=headers,
    )
