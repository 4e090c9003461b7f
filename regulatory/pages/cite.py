"""How to cite what a page shows: a permalink pinned to the date shown (as of)
and to the record time, an APA-style reference, BibTeX and CSL-JSON.

A citation must let a reader see again exactly what the author saw. The date
shown alone does not do that, since a correction recorded later changes the
past; so every permalink also names the record time (`recorded_as_of`): the
one asked for, else the minute the page was built. A page kept by the HTTP
cache and served later carries the minute it was built, which is still
right: any write moves the record version and so drops the kept page.

Used by the matrix, the decision pages and the matrix exports (CSV, XLSX);
`templates/regulatory/_cite.html` shows a `Citation`. The compare page can
build one with `citation_build` and include the same partial.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.utils import timezone

from regulatory.models import DatasetRelease

_MONTHS = ("January February March April May June July August September October November December").split()


def _long_date(day: dt.date) -> str:
    """'1 June 2026'."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def record_time_now() -> str:
    """The present minute as a `recorded_as_of` value (UTC)."""
    return timezone.now().astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M")


def record_time_display(value: str) -> str:
    """'2026-06-01T12:00' → '1 June 2026, 12:00 UTC'; '2026-06-01' → '1 June 2026'."""
    day = dt.date.fromisoformat(value[:10])
    return f"{_long_date(day)}, {value[11:16]} UTC" if len(value) > 10 else _long_date(day)


@dataclass(frozen=True)
class Release:
    version: str
    researched_on: dt.date


def dataset_release_current() -> Release | None:
    """The shipped dataset's latest version loaded here (one query), None when
    none was ever loaded (a record built by hand)."""
    row = DatasetRelease.objects.order_by("-loaded_at", "-id").values_list("version", "researched_on").first()
    return Release(*row) if row else None


_BIBTEX_SPECIAL = re.compile(r"([\\{}&%$#_~^])")
_BIBTEX_REPLACEMENTS = {"\\": r"\textbackslash{}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def bibtex_escape(text: str) -> str:
    """Text safe inside a BibTeX field: LaTeX's special characters escaped,
    so a title with '&' or '{' cannot end the field or break the entry."""
    return _BIBTEX_SPECIAL.sub(lambda m: _BIBTEX_REPLACEMENTS.get(m.group(1), "\\" + m.group(1)), text)


@dataclass(frozen=True)
class Citation:
    title: str  # what is cited: "Status matrix … on 1 June 2026"
    kind: str  # CSL type: "dataset" (the matrix) or "webpage" (a decision)
    key: str  # a BibTeX key
    permalink: str  # absolute, pinned to the date shown and the record time
    recorded_as_of: str  # the record time the permalink names
    accessed: dt.date
    release: Release | None
    as_of: dt.date | None = None  # the date shown, for views of a date

    @property
    def author(self) -> str:
        return settings.SITE_NAME

    @property
    def recorded_display(self) -> str:
        return record_time_display(self.recorded_as_of)

    @property
    def issued(self) -> dt.date:
        return dt.date.fromisoformat(self.recorded_as_of[:10])

    @property
    def version_text(self) -> str:
        return f"dataset version {self.release.version}" if self.release else ""

    @property
    def note(self) -> str:
        """What pins the view, in words, for the citation's note."""
        parts = []
        if self.as_of:
            parts.append(f"Status as of {_long_date(self.as_of)}")
        parts.append(f"as recorded on {self.recorded_display}")
        if self.release:
            # Not its researched date: the release row keeps no precision
            # ("2026" would read as 1 January 2026).
            parts.append(self.version_text)
        text = "; ".join(parts)
        return text[0].upper() + text[1:]

    @property
    def apa(self) -> str:
        """APA 7 style, for a data set (or web page) that changes over time:
        Author. (Year, Month Day). Title (Version) [Description]. Retrieved Date, from URL"""
        version = f" (Version {self.release.version})" if self.release else ""
        description = "Data set" if self.kind == "dataset" else "Web page"
        recorded = f"as recorded on {self.recorded_display}"
        return (
            f"{self.author}. ({self.issued.year}, {_MONTHS[self.issued.month - 1]} {self.issued.day}). "
            f"{self.title}{version} [{description}; {recorded}]. "
            f"Retrieved {_MONTHS[self.accessed.month - 1]} {self.accessed.day}, {self.accessed.year}, "
            f"from {self.permalink}"
        )

    @property
    def bibtex(self) -> str:
        fields = [
            ("author", "{" + bibtex_escape(self.author) + "}"),
            ("title", "{" + bibtex_escape(self.title) + "}"),
            ("year", str(self.issued.year)),
            ("month", self.issued.strftime("%b").lower()),
            ("url", self.permalink),
            ("urldate", self.accessed.isoformat()),
            ("note", bibtex_escape(self.note)),
        ]
        if self.release:
            fields.insert(4, ("version", bibtex_escape(self.release.version)))
        body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
        entry = "dataset" if self.kind == "dataset" else "online"
        return f"@{entry}{{{self.key},\n{body}\n}}"

    def csl(self) -> dict:
        item: dict = {
            "id": self.key,
            "type": self.kind,
            "title": self.title,
            "author": [{"literal": self.author}],
            "publisher": self.author,
            "issued": {"date-parts": [[self.issued.year, self.issued.month, self.issued.day]]},
            "accessed": {"date-parts": [[self.accessed.year, self.accessed.month, self.accessed.day]]},
            "URL": self.permalink,
            "note": self.note,
        }
        if self.release:
            item["version"] = self.release.version
        return item

    @property
    def csl_json(self) -> str:
        """CSL-JSON: a list of one item, as Zotero and citeproc read it; one
        line per field, so that it reads (and copies) in a narrow box."""
        fields = ",\n".join(
            f"    {json.dumps(name)}: {json.dumps(value, ensure_ascii=False)}" for name, value in self.csl().items()
        )
        return f"[\n  {{\n{fields}\n  }}\n]"

    @property
    def file_line(self) -> str:
        """The citation line written into an export."""
        return f"Cite as: {self.apa}"


def citation_build(
    *,
    title: str,
    path: str,
    query: dict[str, str],
    kind: str,
    key: str,
    today: dt.date,
    release: Release | None,
    as_of: dt.date | None = None,
    recorded_as_of: str = "",
) -> Citation:
    """A citation of the page at `path` with `query` (the view's own
    parameters), its permalink pinned to `as_of` and to the record time (the
    one asked for, else now)."""
    recorded = recorded_as_of or record_time_now()
    pinned = {**query, "recorded_as_of": recorded}
    if as_of is not None:
        pinned = {"as_of": as_of.isoformat(), **pinned}
    permalink = f"{settings.SITE_URL}{path}?{urlencode(pinned, safe=',:')}"
    return Citation(
        title=title,
        kind=kind,
        key=key,
        permalink=permalink,
        recorded_as_of=recorded,
        accessed=today,
        release=release,
        as_of=as_of,
    )


def matrix_citation(*, params, as_of: dt.date, today: dt.date, release: Release | None) -> Citation:
    """The matrix as shown: `params` is the page's MatrixParams."""
    from django.urls import reverse

    parts = []
    if params.jurisdiction_codes:
        parts.append(", ".join(j.name for j in params.jurisdictions_shown))
    if params.therapy_slugs:
        parts.append(", ".join(t.name for t in params.therapies_shown))
    if not params.members:
        parts.append("without member states or US states")
    scope = f" ({'; '.join(parts)})" if parts else ""
    query = params.view_query()
    query.pop("as_of", None)
    query.pop("recorded_as_of", None)
    return citation_build(
        title=f"Regulatory status of psychedelic-assisted therapies by jurisdiction{scope}, on {_long_date(as_of)}",
        path=reverse("regulatory-matrix"),
        query=query,
        kind="dataset",
        key=f"tracker_matrix_{as_of:%Y_%m_%d}",
        today=today,
        release=release,
        as_of=as_of,
        recorded_as_of=params.recorded_as_of,
    )


def decision_citation(*, decision, today: dt.date, release: Release | None, recorded_as_of: str = "") -> Citation:
    """One decision's page, pinned to the record time."""
    return citation_build(
        title=f"{decision.title} ({decision.jurisdiction.name}, {decision.announced_display})",
        path=decision.get_absolute_url(),
        query={},
        kind="webpage",
        key=f"tracker_decision_{decision.pk}",
        today=today,
        release=release,
        recorded_as_of=recorded_as_of,
    )


def compare_citation(
    *, date_from: dt.date, date_to: dt.date, today: dt.date, release: Release | None, recorded_as_of: str = ""
) -> Citation:
    """The comparison of two dates, pinned to the record time."""
    from django.urls import reverse

    return citation_build(
        title=(
            "Changes in the regulatory status of psychedelic-assisted therapies between "
            f"{_long_date(date_from)} and {_long_date(date_to)}"
        ),
        path=reverse("regulatory-compare"),
        query={"from": date_from.isoformat(), "to": date_to.isoformat()},
        kind="dataset",
        key=f"tracker_compare_{date_from:%Y_%m_%d}_{date_to:%Y_%m_%d}",
        today=today,
        release=release,
        recorded_as_of=recorded_as_of,
    )
