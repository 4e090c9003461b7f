"""Lists of decisions for the pages, the API, the feeds and the exports."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import QuerySet

from regulatory.models import PUBLIC_STATES, Decision


def decision_list_public() -> QuerySet[Decision]:
    """Published (and retracted, shown as such) decisions with everything a
    list or feed shows, prefetched: a constant number of queries."""
    return (
        Decision.objects.filter(state__in=PUBLIC_STATES)
        .select_related("jurisdiction", "regulator", "access_programme")
        .prefetch_related("therapies", "sources")
    )


def decision_latest_recorded_at():
    """An expression: when the decision's latest Change was recorded (None for drafts)."""
    from django.db.models import OuterRef, Subquery

    from regulatory.models import Change

    # Change ids are committed in order, so the highest id is the latest record.
    return Subquery(Change.objects.filter(decision=OuterRef("pk")).order_by("-id").values("recorded_at")[:1])


def decision_latest_is_import():
    """An expression: whether the decision's latest Change came from a load of
    the historical dataset (then it is history, dated by its announcement)."""
    from django.db.models import OuterRef, Subquery

    from regulatory.models import Change

    return Subquery(Change.objects.filter(decision=OuterRef("pk")).order_by("-id").values("is_import")[:1])


def decision_list_api(*, include_drafts: bool = False) -> QuerySet[Decision]:
    """Decisions as the API, the feeds and the CSV export show them, newest
    announcement first (id breaks ties, so pages are stable), each annotated
    with `recorded_at` and `imported` (its latest change was a dataset load).
    Drafts only for editors."""
    base = Decision.objects.all() if include_drafts else Decision.objects.filter(state__in=PUBLIC_STATES)
    return (
        base.select_related("jurisdiction", "regulator", "access_programme")
        .prefetch_related("therapies", "sources")
        .annotate(  # type: ignore[no-redef]  # Decision declares recorded_at for the code that reads these rows
            recorded_at=decision_latest_recorded_at(), imported=decision_latest_is_import()
        )
        .order_by("-announced_on", "-id")
    )


def decision_get_api(*, decision_id: int, include_drafts: bool = False) -> Decision | None:
    return decision_list_api(include_drafts=include_drafts).filter(pk=decision_id).first()


def decision_list_recorded_since(queryset: QuerySet[Decision], *, since: dt.datetime) -> QuerySet[Decision]:
    """Decisions with a Change recorded at or after `since`: what a syncing client missed."""
    from django.db.models import Exists, OuterRef

    from regulatory.models import Change

    return queryset.filter(Exists(Change.objects.filter(decision=OuterRef("pk"), recorded_at__gte=since)))


def decision_list_for_therapies(queryset: QuerySet[Decision], *, therapy_ids: Iterable[int]) -> QuerySet[Decision]:
    """Decisions concerning any of the therapies, without duplicate rows."""
    from django.db.models import Exists, OuterRef

    through = Decision.therapies.through
    return queryset.filter(Exists(through.objects.filter(decision_id=OuterRef("pk"), therapy_id__in=list(therapy_ids))))


def decision_list_feed(queryset: QuerySet[Decision] | None = None, *, limit: int = 100) -> list[Decision]:
    """Public decisions for the Atom feed (from `queryset`, a filtered
    `decision_list_api()`), most recently recorded first, at most `limit`."""
    from django.db.models import Case, DateTimeField, F, When
    from django.db.models.functions import Cast

    if queryset is None:
        queryset = decision_list_api()
    # An imported entry is history: it sorts (and is dated) by its
    # announcement, not by the minute the dataset was loaded.
    queryset = queryset.annotate(
        feed_at=Case(
            When(imported=True, then=Cast("announced_on", DateTimeField())),
            default=F("recorded_at"),
            output_field=DateTimeField(),
        )
    )
    return list(queryset.order_by(F("feed_at").desc(nulls_last=True), "-id")[:limit])
