"""Signed links: confirm (expiring), manage (revoked on unsubscribe) and
unsubscribe (per subscriber, permanent).

Each purpose has its own salt, so a token made for one purpose is "foreign"
to the others and fails verification. Readers return None for anything that
does not verify (tampered, expired, foreign, malformed): the views then show
one plain "this link is not valid" page and change nothing.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core import signing

from tracker.models import Subscriber, Subscription

_CONFIRM_SALT = "tracker.subscription-confirm"
_MANAGE_SALT = "tracker.subscriber-manage"
_UNSUBSCRIBE_SALT = "tracker.subscriber-unsubscribe"


def _confirm_max_age() -> dt.timedelta:
    return dt.timedelta(days=settings.TRACKER_CONFIRM_MAX_AGE_DAYS)


def confirm_token_make(subscription: Subscription) -> str:
    payload = {"s": subscription.subscriber_id, "n": subscription.pk}
    return signing.TimestampSigner(salt=_CONFIRM_SALT).sign_object(payload, compress=False)


def confirm_token_read(token: str) -> tuple[int, int] | None:
    """(subscriber id, subscription id) for a valid, unexpired confirm token."""
    try:
        payload = signing.TimestampSigner(salt=_CONFIRM_SALT).unsign_object(token, max_age=_confirm_max_age())
    except (signing.BadSignature, ValueError, UnicodeDecodeError):
        # SignatureExpired is a BadSignature; ValueError/UnicodeDecodeError
        # cover payloads that verify but do not decode (never made by us).
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("s"), int) or not isinstance(payload.get("n"), int):
        return None
    return payload["s"], payload["n"]


def _subscriber_token_make(salt: str, subscriber: Subscriber) -> str:
    return signing.Signer(salt=salt).sign_object({"s": subscriber.pk}, compress=False)


def _subscriber_token_read(salt: str, token: str) -> int | None:
    try:
        payload = signing.Signer(salt=salt).unsign_object(token)
    except (signing.BadSignature, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("s"), int):
        return None
    return payload["s"]


# Unsubscribe links never expire: they sit in every email ever sent, RFC 8058
# expects List-Unsubscribe to keep working, and all they can do is stop mail.
# Manage links can also add and change subscriptions, so they carry the
# subscriber's token_version: unsubscribing increments it and every manage
# link mailed before stops working. Coming back then takes the subscribe page
# and a fresh confirmation through the mailbox.
def manage_token_make(subscriber: Subscriber) -> str:
    return signing.Signer(salt=_MANAGE_SALT).sign_object(
        {"s": subscriber.pk, "v": subscriber.token_version},
        compress=False,
    )


def manage_token_read(token: str) -> tuple[int, int] | None:
    """(subscriber id, token version) for a valid manage token. Links made
    before versions existed carry none and read as version 0."""
    try:
        payload = signing.Signer(salt=_MANAGE_SALT).unsign_object(token)
    except (signing.BadSignature, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("s"), int):
        return None
    version = payload.get("v", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        return None
    return payload["s"], version


def unsubscribe_token_make(subscriber: Subscriber) -> str:
    return _subscriber_token_make(_UNSUBSCRIBE_SALT, subscriber)


def unsubscribe_token_read(token: str) -> int | None:
    return _subscriber_token_read(_UNSUBSCRIBE_SALT, token)
