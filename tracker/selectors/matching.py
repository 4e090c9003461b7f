"""Which subscribers a change concerns, and which changes a digest holds (the matching rule in SQL and in Python)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Exists, Max, OuterRef, Q, QuerySet

from regulatory.models import (
    Change,
    ChangeKind,
    Jurisdiction,
    Therapy,
)
from tracker.models import (
    Cadence,
    Subscriber,
    Subscription,
    SubscriptionKind,
)


@dataclass(frozen=True)
class ChangeScope:
    """Everything about a change that subscriptions match against."""

    jurisdiction_ids: frozenset[int]
    therapy_ids: frozenset[int]
    kinds: frozenset[str]


@dataclass(frozen=True)
class SubscriptionScope:
    subscriber_id: int
    starts_after_change_id: int
    jurisdiction_ids: frozenset[int]
    therapy_ids: frozenset[int]
    kinds: frozenset[str]

    def matches(self, change_id: int, scope: ChangeScope) -> bool:
        return (
            change_id > self.starts_after_change_id
            and (not self.jurisdiction_ids or bool(self.jurisdiction_ids & scope.jurisdiction_ids))
            and (not self.therapy_ids or bool(self.therapy_ids & scope.therapy_ids))
            and (not self.kinds or bool(self.kinds & scope.kinds))
        )


def change_latest_id() -> int:
    """The id of the latest committed Change, 0 when there is none."""
    return Change.objects.aggregate(latest=Max("id"))["latest"] or 0


def change_scopes(changes: Iterable[Change]) -> dict[int, ChangeScope]:
    """Scopes for changes loaded with `decision__jurisdiction` and
    `decision__therapies`; two queries whatever their number."""
    jurisdiction_rows = list(Jurisdiction.objects.values_list("id", "code", "parent_id"))
    parents = {jid: parent_id for jid, _, parent_id in jurisdiction_rows}
    jurisdiction_by_code = {code: jid for jid, code, _ in jurisdiction_rows}
    therapy_by_slug = dict(Therapy.objects.values_list("slug", "id"))
    scopes: dict[int, ChangeScope] = {}
    for change in changes:
        decision = change.decision
        jurisdiction_ids = {decision.jurisdiction_id}
        therapy_ids = {t.pk for t in decision.therapies.all()}
        kinds = {decision.kind}
        diff = change.diff if isinstance(change.diff, dict) else {}
        # The values before an amendment: whoever followed them hears about the change.
        if change.kind in (ChangeKind.AMEND, ChangeKind.CORRECT):
            old_jurisdiction = _diff_before(diff, "jurisdiction")
            if isinstance(old_jurisdiction, str) and old_jurisdiction in jurisdiction_by_code:
                jurisdiction_ids.add(jurisdiction_by_code[old_jurisdiction])
            for slug in _diff_before(diff, "therapies") or ():
                if slug in therapy_by_slug:
                    therapy_ids.add(therapy_by_slug[slug])
            old_kind = _diff_before(diff, "kind")
            if isinstance(old_kind, str):
                kinds.add(old_kind)
        jurisdiction_ids |= {parents[j] for j in jurisdiction_ids if parents.get(j)}
        scopes[change.pk] = ChangeScope(frozenset(jurisdiction_ids), frozenset(therapy_ids), frozenset(kinds))
    return scopes


def _diff_before(diff: Mapping, name: str):
    pair = diff.get(name)
    if isinstance(pair, (list, tuple)) and len(pair) == 2:
        return pair[0]
    return None


def changes_for_delivery(change_ids: Iterable[int]) -> dict[int, Change]:
    """Changes by id, with everything an email about them shows (four queries)."""
    return {change.pk: change for change in _changes_for_delivery().filter(pk__in=list(change_ids))}


def _changes_for_delivery() -> QuerySet[Change]:
    return Change.objects.select_related(
        "decision__jurisdiction__parent", "decision__regulator", "decision__access_programme"
    ).prefetch_related("decision__therapies", "decision__sources")


def subscriptions_matching(*, change_id: int, scope: ChangeScope, cadence: str) -> QuerySet[Subscription]:
    """Confirmed subscriptions of `cadence` that `change_id` matches, as SQL."""
    jurisdictions = Subscription.jurisdictions.through.objects.filter(subscription=OuterRef("pk"))
    therapies = Subscription.therapies.through.objects.filter(subscription=OuterRef("pk"))
    kinds = SubscriptionKind.objects.filter(subscription=OuterRef("pk"))
    return Subscription.objects.filter(
        Q(~Exists(jurisdictions)) | Q(Exists(jurisdictions.filter(jurisdiction_id__in=scope.jurisdiction_ids))),
        Q(~Exists(therapies)) | Q(Exists(therapies.filter(therapy_id__in=scope.therapy_ids))),
        Q(~Exists(kinds)) | Q(Exists(kinds.filter(kind__in=scope.kinds))),
        cadence=cadence,
        confirmed_at__isnull=False,
        starts_after_change_id__lt=change_id,
    )


def fan_out_subscriber_ids(*, change_id: int, scope: ChangeScope, after_subscriber_id: int, limit: int) -> list[int]:
    """The next `limit` active subscribers (by id, after `after_subscriber_id`)
    with at least one instant subscription matching the change: one query,
    one row per subscriber however many of their subscriptions match."""
    matching = subscriptions_matching(change_id=change_id, scope=scope, cadence=Cadence.INSTANT)
    query = (
        Subscriber.objects.active()
        .filter(pk__gt=after_subscriber_id)
        # Repeated on the subscriptions, so that their index is read from this
        # chunk on rather than from its start for every chunk.
        .filter(Exists(matching.filter(subscriber=OuterRef("pk"), subscriber_id__gt=after_subscriber_id)))
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    if connection.vendor != "postgresql":
        return list(query)
    with transaction.atomic():
        with connection.cursor() as cursor:
            # Its cost estimate makes PostgreSQL compile it to machine code
            # (JIT) on every run: 20-30 ms of a 75 ms query, for a plan that
            # runs once.
            cursor.execute("SET LOCAL jit = off")
        return list(query)


def digest_subscriber_ids(*, cadence: str, after_subscriber_id: int, limit: int) -> list[int]:
    """The next `limit` active subscribers holding a confirmed `cadence` subscription."""
    has_digest = Subscription.objects.filter(subscriber=OuterRef("pk"), cadence=cadence, confirmed_at__isnull=False)
    return list(
        Subscriber.objects.active()
        .filter(pk__gt=after_subscriber_id)
        .filter(Exists(has_digest))
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


def digest_build(*, cadence: str, bounds: Mapping[int, tuple[int, int]]) -> dict[int, list[Change]]:
    """The changes each subscriber's `cadence` digest holds.

    `bounds` maps subscriber id -> (after, upto): the digest covers changes with
    after < id <= upto that match any of the subscriber's confirmed `cadence`
    subscriptions. Subscribers with nothing to send are absent from the result.
    Runs a fixed number of queries for the whole chunk (at most 9), whatever
    the number of subscribers, subscriptions or changes.
    """
    if not bounds:
        return {}
    by_subscriber = subscription_scopes_of(subscriber_ids=bounds, cadence=cadence)
    if not by_subscriber:
        return {}
    # One window of change ids for the whole chunk: from the lowest point any
    # subscriber in it still needs to the highest upto.
    low = min(
        max(bounds[sid][0], min(s.starts_after_change_id for s in scopes)) for sid, scopes in by_subscriber.items()
    )
    high = max(bounds[sid][1] for sid in by_subscriber)
    if high <= low:
        return {}
    changes = list(_changes_for_delivery().filter(pk__gt=low, pk__lte=high, is_import=False).order_by("pk"))
    if not changes:
        return {}
    scopes = change_scopes(changes)
    result: dict[int, list[Change]] = {}
    for subscriber_id, subscription_scopes in by_subscriber.items():
        after, upto = bounds[subscriber_id]
        matched = [
            change
            for change in changes
            if after < change.pk <= upto and any(s.matches(change.pk, scopes[change.pk]) for s in subscription_scopes)
        ]
        if matched:
            result[subscriber_id] = matched
    return result


def change_ids_matching(
    *, changes: QuerySet[Change], scope: SubscriptionScope, covered_by: Iterable[SubscriptionScope] = ()
) -> list[int]:
    """Ids of `changes` (dataset imports left out) that `scope` matches and
    none of `covered_by` does, in order. Three queries."""
    rows = list(
        changes.filter(is_import=False)
        .select_related("decision")
        .prefetch_related("decision__therapies")
        .order_by("pk")
    )
    if not rows:
        return []
    scopes = change_scopes(rows)
    others = list(covered_by)
    return [
        change.pk
        for change in rows
        if scope.matches(change.pk, scopes[change.pk])
        and not any(other.matches(change.pk, scopes[change.pk]) for other in others)
    ]


def changes_not_fanned_out_to(*, subscriber_id: int, after: int, upto: int) -> QuerySet[Change]:
    """Changes in (after, upto] whose instant fan-out has not yet reached this
    subscriber (not started, or stopped at a lower subscriber id): that
    fan-out will look at the subscriber's subscriptions as they are then."""
    return Change.objects.filter(pk__gt=after, pk__lte=upto, is_import=False).filter(
        Q(tracker_fan_out__isnull=True)
        | Q(tracker_fan_out__completed_at__isnull=True, tracker_fan_out__last_subscriber_id__lt=subscriber_id)
    )


def subscription_scopes_of(*, subscriber_ids: Iterable[int], cadence: str) -> dict[int, list[SubscriptionScope]]:
    """The scopes of the subscribers' confirmed `cadence` subscriptions, by
    subscriber, in four queries of plain values (no model instances: a
    digest chunk holds thousands of them)."""
    rows = list(
        Subscription.objects.filter(subscriber_id__in=list(subscriber_ids), cadence=cadence, confirmed_at__isnull=False)
        .order_by("pk")
        .values_list("pk", "subscriber_id", "starts_after_change_id")
    )
    if not rows:
        return {}
    ids = [pk for pk, _, _ in rows]
    jurisdictions: dict[int, set[int]] = {}
    for subscription_id, jurisdiction_id in Subscription.jurisdictions.through.objects.filter(
        subscription_id__in=ids
    ).values_list("subscription_id", "jurisdiction_id"):
        jurisdictions.setdefault(subscription_id, set()).add(jurisdiction_id)
    therapies: dict[int, set[int]] = {}
    for subscription_id, therapy_id in Subscription.therapies.through.objects.filter(
        subscription_id__in=ids
    ).values_list("subscription_id", "therapy_id"):
        therapies.setdefault(subscription_id, set()).add(therapy_id)
    kinds: dict[int, set[str]] = {}
    for subscription_id, kind in SubscriptionKind.objects.filter(subscription_id__in=ids).values_list(
        "subscription_id", "kind"
    ):
        kinds.setdefault(subscription_id, set()).add(kind)
    by_subscriber: dict[int, list[SubscriptionScope]] = {}
    for pk, subscriber_id, starts_after in rows:
        by_subscriber.setdefault(subscriber_id, []).append(
            SubscriptionScope(
                subscriber_id=subscriber_id,
                starts_after_change_id=starts_after or 0,
                jurisdiction_ids=frozenset(jurisdictions.get(pk, ())),
                therapy_ids=frozenset(therapies.get(pk, ())),
                kinds=frozenset(kinds.get(pk, ())),
            )
        )
    return by_subscriber


def subscription_scope(subscription: Subscription) -> SubscriptionScope:
    """The scope of a subscription loaded with its jurisdictions, therapies and kinds prefetched."""
    return SubscriptionScope(
        subscriber_id=subscription.subscriber_id,
        starts_after_change_id=subscription.starts_after_change_id or 0,
        jurisdiction_ids=frozenset(j.pk for j in subscription.jurisdictions.all()),
        therapy_ids=frozenset(t.pk for t in subscription.therapies.all()),
        kinds=frozenset(row.kind for row in subscription.kind_rows.all()),
    )
