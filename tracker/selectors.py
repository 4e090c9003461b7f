"""Reads for delivery: which subscribers a change concerns, what a digest
holds, how a change reads in an email, and the admin's delivery counts.

"Matching" has one rule, applied in SQL by the fan-out (over many
subscribers, one change) and in Python by the digest builder (over a chunk of
subscribers and many changes); tests check that both agree:

    a change matches a subscription when
      - the decision's jurisdiction, or that jurisdiction's parent (de -> eu),
        is among the subscription's jurisdictions,
      - any of the decision's therapies is among its therapies,
      - the decision's kind is among its kinds,
    each empty = all, and the change was recorded after the subscription
    started (`starts_after_change_id`) and is not a dataset import.

An amendment that moved a decision out of someone's scope still reaches them:
the values before the edit (from the Change's diff) count too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet

from regulatory.diffs import DiffRow, change_diff_rows
from regulatory.models import (
    Change,
    ChangeKind,
    DecisionKind,
    Jurisdiction,
    Therapy,
)
from tracker.models import (
    Cadence,
    ChangeDelivery,
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


# --- How a change reads in an email -----------------------------------------

CHANGE_KIND_LABELS: dict[str, str] = {
    ChangeKind.PUBLISH: "New decision",
    ChangeKind.AMEND: "Amendment",
    ChangeKind.CORRECT: "Correction",
    ChangeKind.RETRACT: "Retraction",
}

# Longer values (a summary, a list of sources) are cut in an email; the
# decision's page has them in full.
_MAX_VALUE_LENGTH = 300


def change_diff_lines(change: Change) -> list[DiffRow]:
    """What an amendment or correction changed, field by field, for people:
    the rows of the decision's page (`regulatory.diffs`), long values cut.
    A new decision and a retraction have none (the decision itself, or the
    editor's note, says it)."""
    if change.kind not in (ChangeKind.AMEND, ChangeKind.CORRECT) or not isinstance(change.diff, dict):
        return []
    return [DiffRow(row.label, _cut(row.before), _cut(row.after)) for row in change_diff_rows(change, change.decision)]


def _cut(text: str) -> str:
    return text if len(text) <= _MAX_VALUE_LENGTH else text[: _MAX_VALUE_LENGTH - 1] + "…"


@dataclass
class DigestGroup:
    jurisdiction: str
    therapies: str
    changes: list[Change] = field(default_factory=list)


def digest_groups(changes: Iterable[Change]) -> list[DigestGroup]:
    """Changes grouped by jurisdiction, then by the decision's therapies, in
    the matrix's order; within a group, in the order they were recorded."""
    groups: dict[tuple, DigestGroup] = {}
    for change in changes:
        decision = change.decision
        therapies = list(decision.therapies.all())
        key = (
            decision.jurisdiction.position,
            decision.jurisdiction.code,
            tuple((t.position, t.slug) for t in therapies),
        )
        if key not in groups:
            groups[key] = DigestGroup(
                jurisdiction=decision.jurisdiction.name,
                therapies=", ".join(t.name for t in therapies),
            )
        groups[key].changes.append(change)
    return [groups[key] for key in sorted(groups)]


# --- Admin ---------------------------------------------------------------------


def change_delivery_overview() -> QuerySet[ChangeDelivery]:
    """Changes with their notification counts by status, in one query."""
    sent = Q(tracker_notifications__sent_at__isnull=False)
    failed = Q(tracker_notifications__failed_at__isnull=False)
    cancelled = Q(tracker_notifications__cancelled_at__isnull=False)
    pending = Q(tracker_notifications__isnull=False) & Q(
        tracker_notifications__sent_at__isnull=True,
        tracker_notifications__failed_at__isnull=True,
        tracker_notifications__cancelled_at__isnull=True,
    )
    return ChangeDelivery.objects.select_related("decision", "tracker_fan_out").annotate(
        sent_count=Count("tracker_notifications", filter=sent),
        pending_count=Count("tracker_notifications", filter=pending),
        failed_count=Count("tracker_notifications", filter=failed),
        cancelled_count=Count("tracker_notifications", filter=cancelled),
    )


def scope_choices() -> tuple[list[Jurisdiction], list[Therapy]]:
    """Jurisdictions and therapies a subscription can name, in display order."""
    return list(Jurisdiction.objects.all()), list(Therapy.objects.all())


def subscription_scope_text(subscription: Subscription) -> dict[str, str]:
    """Human-readable scope of a prefetched subscription (empty = all)."""
    kinds = dict(DecisionKind.choices)
    return {
        "jurisdictions": ", ".join(j.name for j in subscription.jurisdictions.all()) or "All jurisdictions",
        "therapies": ", ".join(t.name for t in subscription.therapies.all()) or "All therapies",
        "kinds": ", ".join(kinds.get(k, k) for k in subscription.kinds) or "All kinds of decision",
    }


def subscriber_subscriptions(subscriber: Subscriber) -> list[Subscription]:
    return list(
        subscriber.subscriptions.filter(confirmed_at__isnull=False)
        .prefetch_related("jurisdictions", "therapies", "kind_rows")
        .order_by("id")
    )


def digest_period(cadence: str, when: dt.datetime) -> str:
    """The label of the day or ISO week a digest is planned in."""
    if cadence == Cadence.WEEKLY:
        year, week, _ = when.isocalendar()
        return f"{year}-W{week:02d}"
    return when.date().isoformat()


def subscription_for_confirm_link(*, subscriber_id: int, subscription_id: int) -> Subscription | None:
    """The subscription a confirm link names, as the page that link opens
    shows it (reads only); None when it no longer exists or its address is
    suppressed, the cases in which confirming it is refused."""
    subscription = (
        Subscription.objects.select_related("subscriber")
        .prefetch_related("jurisdictions", "therapies", "kind_rows")
        .filter(pk=subscription_id, subscriber_id=subscriber_id)
        .first()
    )
    if subscription is None or subscription.subscriber.suppressed_at is not None:
        return None
    return subscription


# --- How a change moves a matrix cell, and digest wording (issue 10) --------


@dataclass(frozen=True)
class CellTransition:
    """One (jurisdiction, therapy) cell a change moves: its headline the day
    before the date the decision takes effect, and from that date on."""

    jurisdiction: str
    therapy: str
    before: str
    after: str
    on_display: str  # as precise as the date is known: "1 Jul 2023", "Feb 2027"


def _transition_date(change: Change) -> tuple[dt.date, str] | None:
    """The date from which a change's decision moves its cells, with its
    precision: when it takes effect (control, approval stage), else when its
    access programme opens. None when it moves no cell, or when a retraction
    took it out (what it showed before is the record-time view's to tell)."""
    decision = change.decision
    if change.kind == ChangeKind.RETRACT:
        return None
    if decision.sets_status and decision.effective_on:
        return decision.effective_on, decision.effective_precision
    programme = decision.access_programme if decision.access_programme_id else None
    if programme is not None and programme.opened_on:
        return programme.opened_on, programme.opened_precision
    return None


def change_cell_transitions(changes: Iterable[Change]) -> dict[int, list[CellTransition]]:
    """For each change (loaded as `changes_for_delivery` loads them), the
    cells whose headline differs between the day before its decision takes
    effect and that day, in matrix order. One `cell_grid` per distinct date
    over the jurisdictions and therapies concerned (two per date at most):
    an email is rendered once per content, whatever its number of recipients."""
    from regulatory.models import format_partial_date
    from regulatory.selectors import cell_grid

    plans: dict[int, tuple[dt.date, str]] = {}
    needed: dict[dt.date, tuple[dict[int, Jurisdiction], dict[int, Therapy]]] = {}
    changes = list(changes)
    for change in changes:
        when = _transition_date(change)
        if when is None or not list(change.decision.therapies.all()):
            continue
        plans[change.pk] = when
        for on in (when[0] - dt.timedelta(days=1), when[0]):
            places, therapies = needed.setdefault(on, ({}, {}))
            places[change.decision.jurisdiction_id] = change.decision.jurisdiction
            therapies.update({t.pk: t for t in change.decision.therapies.all()})
    grids = {
        on: cell_grid(as_of=on, jurisdictions=list(places.values()), therapies=list(therapies.values()))
        for on, (places, therapies) in needed.items()
    }
    result: dict[int, list[CellTransition]] = {}
    for change in changes:
        if change.pk not in plans:
            continue
        on, precision = plans[change.pk]
        before_grid, after_grid = grids[on - dt.timedelta(days=1)], grids[on]
        decision = change.decision
        moved = []
        for therapy in sorted(decision.therapies.all(), key=lambda t: (t.position, t.slug)):
            key = (decision.jurisdiction_id, therapy.pk)
            before, after = before_grid[key].headline, after_grid[key].headline
            if before != after:
                moved.append(
                    CellTransition(
                        decision.jurisdiction.name, therapy.name, before, after, format_partial_date(on, precision)
                    )
                )
        result[change.pk] = moved
    return result


def digests_sent_before(*, subscriber_ids: Iterable[int]) -> set[tuple[int, str]]:
    """(subscriber id, cadence) of the digests these subscribers were ever
    sent (one query): a digest not in it is their first of that cadence,
    which cannot say "since your last digest"."""
    from tracker.models import DigestDelivery

    return set(
        DigestDelivery.objects.filter(subscriber_id__in=list(subscriber_ids), sent_at__isnull=False)
        .values_list("subscriber_id", "cadence")
        .distinct()
    )


def digest_period_display(period: str) -> str:
    """A digest's period as the pages write dates: '2 Dec 2026', and a week
    as 'week 49, 30 Nov – 6 Dec 2026'. Anything else is shown as it is."""
    from regulatory.models import Precision, format_partial_date

    try:
        if "-W" in period:
            year, week = period.split("-W")
            monday = dt.date.fromisocalendar(int(year), int(week), 1)
            sunday = monday + dt.timedelta(days=6)
            start = format_partial_date(monday, Precision.DAY)
            if monday.year == sunday.year:
                start = start.removesuffix(f" {monday.year}")
                if monday.month == sunday.month:
                    start = start.removesuffix(f" {monday:%b}")
            return f"week {int(week)}, {start} – {format_partial_date(sunday, Precision.DAY)}"
        return format_partial_date(dt.date.fromisoformat(period), Precision.DAY)
    except ValueError:
        return period
