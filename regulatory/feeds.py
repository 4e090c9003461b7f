"""Feeds: /feeds/decisions.atom (Atom 1.0) and /feeds/upcoming.ics (iCalendar).

Both take `jurisdiction` and `therapy` (the Atom feed also `kind` and the
other decision filters of the API); a bad value is a 400 naming the
parameter. Unknown parameters are ignored, as feed readers add their own.
Links are absolute, built from settings.SITE_URL, so they hold behind a proxy.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_safe
from icalendar import Calendar, Event

from regulatory import selectors
from regulatory.api.filters import DecisionFeedFilter, UpcomingQueryForm
from regulatory.httpcache import cached_read
from regulatory.models import Decision, DecisionState, Precision, format_partial_date

FEED_LIMIT = 100


def bad_request(errors: dict) -> HttpResponseBadRequest:
    """A plain-text 400 naming each parameter at fault."""
    lines = [f"{name}: {' '.join(messages)}" for name, messages in errors.items()]
    return HttpResponseBadRequest(
        "\n".join(["Bad query parameter.", *lines]) + "\n", content_type="text/plain; charset=utf-8"
    )


# --- Atom -------------------------------------------------------------------------


def _announced_at(decision: Decision) -> dt.datetime:
    return dt.datetime.combine(decision.announced_on, dt.time(), tzinfo=dt.UTC)


class DecisionsAtomFeed(Feed):
    """Newest recorded first; one entry per public decision, updated when it
    is amended, corrected or retracted (the entry id stays the same)."""

    feed_type = Atom1Feed
    title = f"{settings.SITE_NAME}: decisions"
    subtitle = "Regulatory decisions on psychedelic-assisted therapies, as they are recorded."
    author_name = settings.SITE_NAME

    def __init__(self, decisions: list[Decision], *, feed_url: str) -> None:
        super().__init__()
        self.decisions = decisions
        self.self_url = feed_url

    def link(self) -> str:
        return f"{settings.SITE_URL}/"

    def feed_url(self) -> str:
        return self.self_url

    def feed_guid(self) -> str:
        # Each filtered feed is a feed of its own, with an id of its own.
        return self.self_url

    def items(self) -> list[Decision]:
        return self.decisions

    def item_title(self, decision: Decision) -> str:
        prefix = "[Retracted] " if decision.state == DecisionState.RETRACTED else ""
        return f"{prefix}{decision.jurisdiction.code.upper()}: {decision.title}"

    def item_description(self, decision: Decision) -> str:
        facts = [("Kind", decision.get_kind_display()), ("Announced", decision.announced_display)]
        if decision.effective_on:
            facts.append(("Effective", decision.effective_display))
        if decision.target_on:
            facts.append(("Target date", decision.target_display))
        if decision.sets_status:
            facts.append(("Sets", decision.status_summary))
        if getattr(decision, "imported", False):
            facts.append(
                (
                    "Recorded",
                    "from the historical dataset"
                    + (f", researched {decision.researched_display}" if decision.researched_on else ""),
                )
            )
        if decision.state != DecisionState.PUBLISHED:
            facts.append(("State", decision.get_state_display()))
        if not decision.verified:
            facts.append(("Unverified", decision.verification_note or "Some details could not be confirmed."))
        return format_html(
            "<p>{}</p><ul>{}</ul><p>Sources:</p><ul>{}</ul>",
            decision.summary,
            format_html_join("", "<li>{}: {}</li>", facts),
            format_html_join(
                "",
                '<li><a href="{}">{}</a> ({}, {})</li>',
                ((s.url, s.title, s.publisher, s.get_grade_display()) for s in decision.sources.all()),
            ),
        )

    def item_link(self, decision: Decision) -> str:
        return selectors.decision_page_url(decision.pk)

    def item_guid(self, decision: Decision) -> str:
        return selectors.decision_page_url(decision.pk)

    def item_pubdate(self, decision: Decision) -> dt.datetime | None:
        if getattr(decision, "imported", False):
            return _announced_at(decision)
        return decision.published_at

    def item_updateddate(self, decision: Decision) -> dt.datetime | None:
        # Imported history is dated by its announcement, not by the load.
        if getattr(decision, "imported", False):
            return _announced_at(decision)
        return decision.recorded_at or decision.published_at

    def item_categories(self, decision: Decision) -> list[str]:
        return [decision.kind, decision.jurisdiction.code, *(t.slug for t in decision.therapies.all())]


@require_safe
@cached_read(params=[DecisionFeedFilter])
def decisions_atom(request: HttpRequest) -> HttpResponse:
    filterset = DecisionFeedFilter(request.GET, queryset=selectors.decision_list_api())
    if not filterset.is_valid():
        return bad_request(filterset.errors)
    decisions = selectors.decision_list_feed(filterset.qs, limit=FEED_LIMIT)
    return DecisionsAtomFeed(decisions, feed_url=f"{settings.SITE_URL}{request.get_full_path()}")(request)


# --- iCalendar ---------------------------------------------------------------------

_WHICH = {"effective": "Takes effect", "target": "Target date"}
_PRECISION_NOTE: dict[str, str] = {
    Precision.MONTH: "month only",
    Precision.YEAR: "year only",
}


def _event(date: selectors.UpcomingDate, *, host: str) -> Event:
    decision = date.decision
    when = format_partial_date(date.on, date.precision)
    summary = f"{_WHICH[date.which]}: {decision.title} ({decision.jurisdiction.code.upper()})"
    lines = [decision.summary, "", f"{_WHICH[date.which]}: {when}"]
    if date.precision in _PRECISION_NOTE:
        # An all-day event needs a day; say plainly that the day is not known.
        summary += f" [date known to the {_PRECISION_NOTE[date.precision]}: {when}]"
        lines.append(
            f"The date is known to the {date.precision} only ({when}); "
            f"the calendar shows it on the first day of that {date.precision}."
        )
    if decision.sets_status and date.which == "effective":
        lines.append(f"Sets: {decision.status_summary}")
    lines += ["", "Sources:", *(f"- {s.title} ({s.publisher}): {s.url}" for s in decision.sources.all())]

    event = Event()
    event.add("uid", f"decision-{decision.pk}-{date.which}@{host}")
    # DTSTAMP: when this information last changed in the record, so that a
    # refresh does not look like an update to every event.
    event.add("dtstamp", decision.recorded_at or decision.published_at or timezone.now())
    event.add("dtstart", date.on)
    if date.on < dt.date.max:  # a date stored before dates were bounded; an all-day DTSTART alone is one day
        event.add("dtend", date.on + dt.timedelta(days=1))
    event.add("transp", "TRANSPARENT")
    event.add("summary", summary)
    event.add("description", "\n".join(lines))
    event.add("url", selectors.decision_page_url(decision.pk))
    event.add("categories", [decision.kind, decision.jurisdiction.code, *(t.slug for t in decision.therapies.all())])
    if decision.recorded_at:
        event.add("last-modified", decision.recorded_at)
    return event


def upcoming_calendar(dates: list[selectors.UpcomingDate]) -> Calendar:
    host = urlsplit(settings.SITE_URL).hostname or "localhost"
    calendar = Calendar()
    calendar.add("prodid", f"-//{host}//{settings.SITE_NAME}//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", f"{settings.SITE_NAME}: upcoming dates")
    calendar.add("x-wr-caldesc", "Future effective and target dates of published regulatory decisions.")
    for date in dates:
        calendar.add_component(_event(date, host=host))
    return calendar


@require_safe
@cached_read(depends_on_today=True, params=[UpcomingQueryForm])
def upcoming_ics(request: HttpRequest) -> HttpResponse:
    form = UpcomingQueryForm(request.GET)
    if not form.is_valid():
        return bad_request(form.errors)
    jurisdictions, therapies = form.cleaned_data["jurisdiction"], form.cleaned_data["therapy"]
    dates = selectors.upcoming_dates(
        today=timezone.localdate(),
        jurisdiction_ids=[j.pk for j in jurisdictions] if jurisdictions else None,
        therapy_ids=[t.pk for t in therapies] if therapies else None,
    )
    response = HttpResponse(upcoming_calendar(dates).to_ical(), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="upcoming.ics"'
    return response
