"""Writes for subscribers: subscribe (double opt-in), confirm, manage,
unsubscribe, import an existing list, and the rate limits in front of them.

The delivery pipeline (fan-out, sending, digests, sweeper) is in
tracker/delivery.py.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from regulatory.models import Change, DecisionKind, Jurisdiction, Therapy
from tracker import selectors
from tracker.addresses import email_normalise, email_rate_key
from tracker.delivery import notifications_write
from tracker.models import (
    UNSENT,
    Cadence,
    DigestDelivery,
    Notification,
    Subscriber,
    Subscription,
    SubscriptionKind,
)
from tracker.selectors import change_latest_id

logger = logging.getLogger(__name__)

RATE_WINDOW_SECONDS = 3600
# What the Redis cache raises when Redis is down or does not answer in time.
# Only these are caught: any other error is a bug and must surface.
CACHE_UNAVAILABLE: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError)


# --- Validation shared by the API, the pages and the importer ---------------


@dataclass(frozen=True)
class Scope:
    """A validated subscription request: cadence and scope (empty = all)."""

    cadence: str
    jurisdictions: tuple[Jurisdiction, ...] = ()
    therapies: tuple[Therapy, ...] = ()
    kinds: tuple[str, ...] = ()

    def key(self) -> tuple:
        return (
            self.cadence,
            frozenset(j.pk for j in self.jurisdictions),
            frozenset(t.pk for t in self.therapies),
            frozenset(self.kinds),
        )


def email_validate(email: str) -> str:
    """The address in its normal form (tracker/addresses.py: one mailbox, one
    address); ValidationError naming `email` otherwise."""
    return email_normalise(email)


def scope_validate(
    *, cadence: str, jurisdictions: Iterable[str] = (), therapies: Iterable[str] = (), kinds: Iterable[str] = ()
) -> Scope:
    """Resolve codes, slugs and kinds; ValidationError naming every bad field."""
    errors: dict[str, str] = {}
    if cadence not in Cadence.values:
        errors["cadence"] = f"Choose one of: {', '.join(Cadence.values)}."
    codes = sorted({c.strip().lower() for c in jurisdictions if c and c.strip()})
    found_j = {j.code: j for j in Jurisdiction.objects.filter(code__in=codes)} if codes else {}
    if unknown := [c for c in codes if c not in found_j]:
        errors["jurisdictions"] = f"Unknown jurisdiction code(s): {', '.join(unknown)}."
    slugs = sorted({s.strip().lower() for s in therapies if s and s.strip()})
    found_t = {t.slug: t for t in Therapy.objects.filter(slug__in=slugs)} if slugs else {}
    if unknown := [s for s in slugs if s not in found_t]:
        errors["therapies"] = f"Unknown therapy slug(s): {', '.join(unknown)}."
    kind_values = sorted({k.strip().lower() for k in kinds if k and k.strip()})
    if unknown := [k for k in kind_values if k not in DecisionKind.values]:
        errors["kinds"] = f"Unknown kind(s): {', '.join(unknown)}; choose from {', '.join(DecisionKind.values)}."
    if errors:
        raise ValidationError(errors)
    return Scope(
        cadence=cadence,
        jurisdictions=tuple(found_j[c] for c in codes),
        therapies=tuple(found_t[s] for s in slugs),
        kinds=tuple(kind_values),
    )


# --- Redis outages ------------------------------------------------------------

OUTAGE_SECONDS = 10


@dataclass
class _Outage:
    """Remembers, in this process, that a service failed a moment ago, so that
    the next requests skip it at once instead of each waiting for its timeout:
    a hung Redis would otherwise hold every subscribe request for seconds."""

    until: float = 0.0

    def active(self) -> bool:
        return time.monotonic() < self.until

    def begin(self) -> None:
        self.until = time.monotonic() + OUTAGE_SECONDS

    def end(self) -> None:
        self.until = 0.0


cache_outage = _Outage()
broker_outage = _Outage()


# --- Rate limits -------------------------------------------------------------


def rate_limit_hit(*, scope: str, key: str, limit: int, window: int = RATE_WINDOW_SECONDS) -> int | None:
    """Count one request against a fixed window; when the count is over
    `limit`, return the seconds until the window ends (for Retry-After).

    Keys are hashed so that no address or IP is stored in the cache.

    Fails open: when the cache (Redis) is unreachable the request is let
    through, with a warning in the log. The limit only guards against
    floods; a request that passes it costs one pending row and at most one
    confirmation email (double opt-in), whereas failing closed would turn a
    Redis outage into an outage of subscribing (a 500 on every request)."""
    now = int(time.time())
    bucket = now // window
    digest = hashlib.sha256(f"{scope}:{key}".encode()).hexdigest()[:32]
    cache_key = f"tracker:rate:{digest}:{bucket}"
    if cache_outage.active():
        logger.warning("Rate limit %r not applied, the cache was unavailable moments ago", scope)
        return None
    try:
        count = _rate_count(cache_key, window)
    except CACHE_UNAVAILABLE as exc:
        cache_outage.begin()
        logger.warning("Rate limit %r not applied, the cache is unavailable: %s", scope, exc)
        return None
    if count > limit:
        return window - (now % window)
    return None


def address_rate_limit_hit(*, email: str) -> int | None:
    """The per-address subscribe limit for a normalised address (see
    email_validate): every variant of one mailbox counts against one key."""
    return rate_limit_hit(
        scope="subscribe-address", key=email_rate_key(email), limit=settings.SUBSCRIBE_RATE_PER_ADDRESS
    )


def _rate_count(cache_key: str, window: int) -> int:
    if cache.add(cache_key, 1, timeout=window):
        return 1
    try:
        return cache.incr(cache_key)
    except ValueError:  # expired between add() and incr()
        cache.add(cache_key, 1, timeout=window)
        return 1


def client_address(meta: dict) -> str:
    """The client's IP: REMOTE_ADDR, or behind a trusted proxy the address the
    proxy appended last to X-Forwarded-For (earlier entries are client-controlled)."""
    if settings.TRACKER_TRUST_X_FORWARDED_FOR:
        forwarded = [part.strip() for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if forwarded:
            return forwarded[-1]
    return meta.get("REMOTE_ADDR", "") or "unknown"


# --- Subscribing -------------------------------------------------------------


def _subscriber_get_or_create(email: str) -> Subscriber:
    subscriber = Subscriber.objects.by_email(email).select_for_update().first()
    if subscriber is not None:
        return subscriber
    try:
        with transaction.atomic():
            return Subscriber.objects.create(email=email)
    except IntegrityError:
        # Another request created it a moment ago (unique on LOWER(email)).
        return Subscriber.objects.by_email(email).select_for_update().get()


def _scope_set(subscription: Subscription, scope: Scope) -> None:
    subscription.jurisdictions.set(scope.jurisdictions)
    subscription.therapies.set(scope.therapies)
    subscription.kind_rows.all().delete()
    SubscriptionKind.objects.bulk_create(SubscriptionKind(subscription=subscription, kind=k) for k in scope.kinds)


def _scope_key(subscription: Subscription) -> tuple:
    return (
        subscription.cadence,
        frozenset(j.pk for j in subscription.jurisdictions.all()),
        frozenset(t.pk for t in subscription.therapies.all()),
        frozenset(subscription.kinds),
    )


@transaction.atomic
def subscription_request(*, email: str, scope: Scope) -> Subscription:
    """Record a pending subscription and queue its confirmation email.

    The caller answers the same whatever happens here (new, pending, already
    subscribed, suppressed), so nobody learns who subscribes. Everyone gets a
    confirmation link, the only mail ever sent to an unconfirmed address,
    except a suppressed (permanently bouncing) address, which gets nothing.
    Even then the same work is done here (the same rows written, the same
    task queued), so that the answer does not come back faster for a bounced
    address: the confirmation task drops the request without sending it
    (delivery.confirmation_send), and confirming it is refused."""
    subscriber = _subscriber_get_or_create(email)
    if subscriber.suppressed_at is not None:
        logger.info("Subscribe request for suppressed subscriber %s: no mail will be sent", subscriber.pk)
    subscription = Subscription.objects.create(subscriber=subscriber, cadence=scope.cadence)
    _scope_set(subscription, scope)
    transaction.on_commit(lambda: _confirmation_queue(subscription.pk))
    return subscription


def _confirmation_queue(subscription_id: int) -> None:
    """Queue the confirmation mail; when the broker cannot take it (down, or
    hung past its socket timeout) the committed row is left for the sweeper,
    which sends unsent confirmations (delivery.stalled_sweep), and the request
    answers as usual."""
    from tracker.tasks import confirmation_send, enqueue

    if broker_outage.active():
        logger.warning("Broker unavailable moments ago; confirmation %s left for the sweeper", subscription_id)
        return
    if not enqueue(confirmation_send, subscription_id):
        broker_outage.begin()


@transaction.atomic
def subscription_confirm(*, subscriber_id: int, subscription_id: int) -> Subscription | None:
    """Confirm a pending subscription (idempotent). It covers only changes
    recorded from now on. None when it no longer exists or the address is
    suppressed."""
    subscription = (
        Subscription.objects.select_for_update()
        .select_related("subscriber")
        .filter(pk=subscription_id, subscriber_id=subscriber_id)
        .first()
    )
    if subscription is None or subscription.subscriber.suppressed_at is not None:
        return None
    if subscription.confirmed_at is not None:
        return subscription
    subscriber = subscription.subscriber
    now = timezone.now()
    # Opening a link again (or a second identical request) must not create a twin.
    key = _scope_key(subscription)
    for other in subscriber.subscriptions.filter(confirmed_at__isnull=False).prefetch_related(
        "jurisdictions", "therapies", "kind_rows"
    ):
        if _scope_key(other) == key:
            subscription.delete()
            _subscriber_activate(subscriber, now)
            return other
    subscription.confirmed_at = now
    subscription.starts_after_change_id = change_latest_id()
    subscription.save(update_fields=["confirmed_at", "starts_after_change_id"])
    _subscriber_activate(subscriber, now)
    return subscription


def _subscriber_activate(subscriber: Subscriber, now) -> None:
    fields = []
    if subscriber.confirmed_at is None:
        subscriber.confirmed_at = now
        fields.append("confirmed_at")
    if subscriber.unsubscribed_at is not None:
        # They asked again and confirmed through their mailbox: mail resumes.
        subscriber.unsubscribed_at = None
        fields.append("unsubscribed_at")
    if fields:
        subscriber.save(update_fields=fields)


# --- Managing (the signed manage link proves the mailbox) --------------------


@transaction.atomic
def subscription_add(*, subscriber: Subscriber, scope: Scope) -> Subscription:
    """Add a confirmed subscription from the manage page; it starts now.

    Refused for an address that unsubscribed: an old manage link (forwarded,
    leaked) must not restart mail to someone who opted out. Their manage
    links are revoked on unsubscribe anyway; coming back takes the subscribe
    page and a fresh confirmation."""
    subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
    if subscriber.suppressed_at is not None:
        raise ValidationError("Mail to this address bounced permanently, so nothing can be sent to it.")
    if subscriber.unsubscribed_at is not None:
        raise ValidationError(
            "This address unsubscribed. To receive mail again, subscribe on the subscribe "
            "page: a confirmation link will be sent to it."
        )
    now = timezone.now()
    subscription = Subscription.objects.create(
        subscriber=subscriber,
        cadence=scope.cadence,
        confirmed_at=now,
        starts_after_change_id=change_latest_id(),
    )
    _scope_set(subscription, scope)
    _subscriber_activate(subscriber, now)
    return subscription


@transaction.atomic
def subscription_update(*, subscription: Subscription, scope: Scope) -> Subscription:
    """Change a subscription's cadence or scope.

    A change of cadence neither loses nor repeats what the old cadence owed
    (see _cadence_switch). The subscriber row is locked first: digest sends
    and the digest planner move its watermarks under the same lock."""
    subscriber = Subscriber.objects.select_for_update().get(pk=subscription.subscriber_id)
    subscription = (
        Subscription.objects.select_for_update()
        .prefetch_related("jurisdictions", "therapies", "kind_rows")
        .get(pk=subscription.pk)
    )
    if subscription.cadence != scope.cadence:
        _cadence_switch(subscriber, subscription, scope.cadence)
    _scope_set(subscription, scope)
    return subscription


def _cadence_switch(subscriber: Subscriber, subscription: Subscription, cadence: str) -> None:
    """Move a subscription to `cadence`; whatever the old cadence had not
    mailed yet (under the old scope) is mailed once, by the new one or at once.

    - digest -> instant: the old scope's matches after the old digest's
      watermark are written as Notification rows now and queued after commit;
      the instant mail starts after the latest change.
    - instant -> digest: the digest starts after the latest change, so nothing
      instant mail covered is sent again; changes whose fan-out has not
      reached this subscriber yet (it would no longer find an instant
      subscription) get their Notification rows now.
    - digest -> other digest: the new digest starts after the old one's
      watermark. If the new cadence's own watermark is already past that
      point (another subscription of that cadence was mailed meanwhile), the
      changes in between that only this subscription matched are mailed now.

    Notification rows are unique per (subscriber, change), so a change
    another instant subscription (or the fan-out) covers is mailed once."""
    old_cadence = subscription.cadence
    old_scope = selectors.subscription_scope(subscription)
    latest = change_latest_id()
    to_mail: list[int] = []
    if old_cadence == Cadence.INSTANT:
        starts_after = latest
        to_mail = selectors.change_ids_matching(
            changes=selectors.changes_not_fanned_out_to(
                subscriber_id=subscriber.pk, after=old_scope.starts_after_change_id, upto=latest
            ),
            scope=old_scope,
        )
    else:
        mailed_upto = max(
            old_scope.starts_after_change_id, getattr(subscriber, Subscriber.watermark_field(old_cadence))
        )
        if cadence == Cadence.INSTANT:
            starts_after = latest
            to_mail = selectors.change_ids_matching(
                changes=Change.objects.filter(pk__gt=mailed_upto, pk__lte=latest),
                scope=old_scope,
            )
        else:
            starts_after = mailed_upto
            new_watermark = getattr(subscriber, Subscriber.watermark_field(cadence))
            if new_watermark > mailed_upto:
                others = (
                    subscriber.subscriptions.filter(cadence=cadence, confirmed_at__isnull=False)
                    .exclude(pk=subscription.pk)
                    .prefetch_related("jurisdictions", "therapies", "kind_rows")
                )
                to_mail = selectors.change_ids_matching(
                    changes=Change.objects.filter(pk__gt=mailed_upto, pk__lte=new_watermark),
                    scope=old_scope,
                    covered_by=[selectors.subscription_scope(other) for other in others],
                )
    subscription.cadence = cadence
    subscription.starts_after_change_id = starts_after
    subscription.save(update_fields=["cadence", "starts_after_change_id"])
    if to_mail and subscriber.is_active:
        notification_ids = notifications_write(subscriber_id=subscriber.pk, change_ids=to_mail)
        from tracker.tasks import enqueue, notification_send_batch

        size = settings.TRACKER_SEND_BATCH
        batches = [notification_ids[i : i + size] for i in range(0, len(notification_ids), size)]
        transaction.on_commit(lambda: [enqueue(notification_send_batch, batch) for batch in batches])


def subscription_remove(*, subscription: Subscription) -> None:
    subscription.delete()


@transaction.atomic
def subscriber_unsubscribe(*, subscriber: Subscriber) -> None:
    """Stop all mail: remove every subscription and cancel what is not yet
    being sent. Idempotent. The row stays, so an import cannot re-add them.
    Revokes every manage link mailed so far (token_version); the unsubscribe
    link itself keeps working."""
    subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
    now = timezone.now()
    if subscriber.unsubscribed_at is None:
        subscriber.unsubscribed_at = now
        subscriber.token_version += 1
        subscriber.save(update_fields=["unsubscribed_at", "token_version"])
    subscriber.subscriptions.all().delete()
    for model in (Notification, DigestDelivery):
        model.objects.filter(UNSENT, subscriber=subscriber, claimed_at__isnull=True).update(
            cancelled_at=now, last_error="The subscriber unsubscribed."
        )


# --- Importing an organisation's list ----------------------------------------

IMPORT_COLUMNS = ("email", "cadence", "jurisdictions", "therapies", "kinds")


@dataclass
class ImportReport:
    subscribers_created: int = 0
    subscriptions_created: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)


def subscribers_csv_rows(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) for each data row of an import CSV; ValueError
    when the header lacks a required column."""
    reader = csv.DictReader(lines)
    missing = [c for c in IMPORT_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(f"the header must name the columns {','.join(IMPORT_COLUMNS)}; missing: {', '.join(missing)}")
    for row in reader:
        yield reader.line_num, row


def subscribers_import(*, rows: Iterable[tuple[int, dict[str, str]]]) -> ImportReport:
    """Import rows as confirmed subscribers, each row on its own.

    Idempotent: a row whose address already holds the same subscription
    changes nothing. Addresses that unsubscribed or bounced are rejected,
    never re-subscribed. Imported subscriptions start now: no history."""
    report = ImportReport()
    for line, row in rows:
        try:
            email = email_validate(row.get("email") or "")
            scope = scope_validate(
                cadence=(row.get("cadence") or "").strip().lower(),
                jurisdictions=(row.get("jurisdictions") or "").split(),
                therapies=(row.get("therapies") or "").split(),
                kinds=(row.get("kinds") or "").split(),
            )
            outcome = _subscriber_import_one(email=email, scope=scope)
        except ValidationError as exc:
            report.rejected.append((line, _validation_text(exc)))
            continue
        if outcome == "unchanged":
            report.unchanged += 1
        else:
            report.subscriptions_created += 1
            report.subscribers_created += outcome == "new subscriber"
    return report


@transaction.atomic
def _subscriber_import_one(*, email: str, scope: Scope) -> str:
    subscriber = _subscriber_get_or_create(email)
    created = subscriber.confirmed_at is None
    if subscriber.unsubscribed_at is not None:
        raise ValidationError(f"{email} unsubscribed on {subscriber.unsubscribed_at:%Y-%m-%d}; not re-subscribed")
    if subscriber.suppressed_at is not None:
        raise ValidationError(f"{email} bounced permanently ({subscriber.suppressed_reason}); not imported")
    existing = subscriber.subscriptions.filter(confirmed_at__isnull=False).prefetch_related(
        "jurisdictions", "therapies", "kind_rows"
    )
    if any(_scope_key(s) == scope.key() for s in existing):
        return "unchanged"
    now = timezone.now()
    subscription = Subscription.objects.create(
        subscriber=subscriber,
        cadence=scope.cadence,
        confirmed_at=now,
        starts_after_change_id=change_latest_id(),
    )
    _scope_set(subscription, scope)
    _subscriber_activate(subscriber, now)
    return "new subscriber" if created else "new subscription"


def _validation_text(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{name}: {' '.join(messages)}" for name, messages in exc.message_dict.items())
    return " ".join(exc.messages)
