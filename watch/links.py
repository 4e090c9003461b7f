"""The weekly link check: does every source the public record cites still
answer? HEAD first, GET where HEAD is refused; the result is written on the
regulatory Source / ProgrammeSource rows (link_* fields) with an UPDATE that
touches nothing else (no Change, no history entry: the record did not change)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import F, Value
from django.utils import timezone

from regulatory.models import PUBLIC_STATES, LinkStatus, ProgrammeSource, Source
from watch.fetch import SourceError, TransientError, request

# Answers that mean "this server does not do HEAD" rather than "no such page".
_HEAD_REFUSED = {400, 403, 405, 406, 429, 501}
_GONE = {404, 410}


@dataclass
class LinkResult:
    url: str
    status: str  # a LinkStatus, or "" when the check itself could not be made
    status_code: int | None
    final_url: str
    reason: str = ""


def link_probe(url: str) -> LinkResult:
    """Status, final URL and verdict for one URL (transient failures retried)."""
    try:
        answer = request("HEAD", url, read_body=False, retry_5xx=False)
        if answer.status_code in _HEAD_REFUSED or answer.status_code >= 500:
            answer = request("GET", url, read_body=False)
    except TransientError as exc:
        if exc.dns:
            return LinkResult(url, LinkStatus.BROKEN, None, "", str(exc))
        return LinkResult(url, LinkStatus.FAILING, exc.status_code, "", str(exc))
    except SourceError as exc:  # a redirect loop, a non-http redirect: the link does not lead anywhere
        return LinkResult(url, LinkStatus.BROKEN, None, "", str(exc))
    code = answer.status_code
    if code in _GONE:
        return LinkResult(url, LinkStatus.BROKEN, code, answer.url, f"HTTP {code}")
    if code >= 400:
        # 401/403/451 and the like: the page is there but will not talk to us.
        return LinkResult(url, LinkStatus.FAILING if code >= 500 else LinkStatus.OK, code, answer.url, f"HTTP {code}")
    status = LinkStatus.REDIRECTED if answer.redirects else LinkStatus.OK
    return LinkResult(url, status, code, answer.url)


def _record(url: str, result: LinkResult, now: dt.datetime) -> None:
    for model in (Source, ProgrammeSource):
        rows = model.objects.filter(url=url)
        if result.status == LinkStatus.FAILING:
            # Broken once it has failed WATCH_LINK_BROKEN_AFTER checks in a row.
            if rows.filter(link_failures__gte=settings.WATCH_LINK_BROKEN_AFTER - 1).exists():
                result.status = LinkStatus.BROKEN
            rows.filter(link_failures__gte=settings.WATCH_LINK_BROKEN_AFTER - 1).update(
                link_status=LinkStatus.BROKEN,
                link_status_code=result.status_code,
                link_checked_at=now,
                link_failures=F("link_failures") + 1,
            )
            rows.filter(link_failures__lt=settings.WATCH_LINK_BROKEN_AFTER - 1).update(
                link_status=LinkStatus.FAILING,
                link_status_code=result.status_code,
                link_checked_at=now,
                link_failures=F("link_failures") + 1,
            )
        else:
            rows.update(
                link_status=result.status,
                link_status_code=result.status_code,
                link_final_url=result.final_url[:1000] if result.final_url != url else "",
                link_checked_at=now,
                link_failures=Value(0),
            )


def public_source_urls() -> list[str]:
    decisions = Source.objects.filter(decision__state__in=PUBLIC_STATES).values_list("url", flat=True)
    programmes = ProgrammeSource.objects.values_list("url", flat=True)
    return sorted(set(decisions) | set(programmes))


def links_check(*, urls: list[str] | None = None, now: dt.datetime | None = None) -> list[LinkResult]:
    now = now or timezone.now()
    results = []
    for url in public_source_urls() if urls is None else urls:
        result = link_probe(url)
        _record(url, result, now)
        results.append(result)
    return results
