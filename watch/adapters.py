"""What each kind of watched source publishes, read into items.

An adapter takes the source and the fetched response and returns the items
it found plus the state to keep for the next poll. A body that is not what
the service publishes (not JSON, not a feed, the wrong JSON shape, not HTML)
raises SourceError with the reason; nothing is written for that poll.
"""

from __future__ import annotations

import codecs
import datetime as dt
import difflib
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import feedparser
from django.utils import timezone

from watch.fetch import Fetched, SourceError
from watch.models import Adapter, WatchedSource

EXCERPT_CHARS = 1000


@dataclass
class Item:
    url: str
    title: str
    text: str  # what is matched against the substances
    excerpt: str = ""
    published_on: dt.date | None = None
    document_number: str = ""
    kind_hint: str = ""
    # A change seen in a study or page (not a document): proposed even where
    # the study's or page's URL is cited, since the change is the news.
    is_change: bool = False


@dataclass
class Parsed:
    items: list[Item]
    state: dict[str, Any] = field(default_factory=dict)


# Federal Register document numbers in any URL (FR API results, FR links in
# agency feeds), so one document is one candidate whichever source found it.
_FR_NUMBER = re.compile(
    r"federalregister\.gov/(?:documents|d|public-inspection)/(?:\d{4}/\d{2}/\d{2}/)?(\d{4}-\d{3,6})"
)


def fr_document_number(url: str) -> str:
    found = _FR_NUMBER.search(url or "")
    return found.group(1) if found else ""


def _excerpt(text: str) -> str:
    text = re.sub(r"\s+", " ", text or "").strip()
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1].rsplit(" ", 1)[0] + "…"


def _date(value: Any) -> dt.date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        # ClinicalTrials.gov gives "2024-05" for some dates: the month's first day.
        try:
            return dt.date.fromisoformat(f"{value[:7]}-01")
        except ValueError:
            return None


def _json(fetched: Fetched) -> Any:
    try:
        return json.loads(fetched.content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SourceError(f"not JSON: {exc}") from None


def _shape(condition: object, reason: str) -> None:
    if not condition:
        raise SourceError(f"unexpected JSON shape: {reason}")


# Federal Register ------------------------------------------------------------


def federal_register_parse(source: WatchedSource, fetched: Fetched) -> Parsed:
    """documents.json search results: {"count", "results": [{document_number,
    title, type, abstract, html_url, publication_date, agencies, excerpts}]}.
    A search with no hits has count 0 and no results list."""
    data = _json(fetched)
    _shape(isinstance(data, dict), "expected an object with 'results'")
    results = data.get("results", [] if data.get("count") == 0 else None)
    _shape(isinstance(results, list), "'results' is missing or not a list")
    items = []
    for n, row in enumerate(results):
        _shape(isinstance(row, dict), f"results[{n}] is not an object")
        number, url, title = row.get("document_number"), row.get("html_url"), row.get("title")
        _shape(isinstance(number, str) and number, f"results[{n}] has no document_number")
        _shape(isinstance(url, str) and url.startswith(("http://", "https://")), f"results[{n}] has no html_url")
        _shape(isinstance(title, str), f"results[{n}] has no title")
        abstract = row.get("abstract") if isinstance(row.get("abstract"), str) else ""
        excerpts = row.get("excerpts") if isinstance(row.get("excerpts"), str) else ""
        agencies = ", ".join(a.get("name", "") for a in row.get("agencies") or [] if isinstance(a, dict))
        kind_word = row.get("type") if isinstance(row.get("type"), str) else ""
        items.append(
            Item(
                url=url,
                title=title,
                document_number=number,
                published_on=_date(row.get("publication_date")),
                excerpt=_excerpt(abstract or html_to_text(excerpts)),
                text=" ".join([title, abstract, html_to_text(excerpts), agencies]),
                kind_hint=kind_word,
            )
        )
    return Parsed(items)


# RSS / Atom -------------------------------------------------------------------


def feed_parse(source: WatchedSource, fetched: Fetched) -> Parsed:
    """RSS 2.0 or Atom entries: link, title, summary, published / updated."""
    parsed = feedparser.parse(
        fetched.content, response_headers={"content-type": fetched.headers.get("content-type", "")}
    )
    if not parsed.get("version"):
        problem = parsed.get("bozo_exception")
        raise SourceError(f"not an RSS or Atom feed{f': {problem}' if problem else ''}")
    items = []
    for entry in parsed.entries:
        link = entry.get("link") or entry.get("id") or ""
        if not link.startswith(("http://", "https://")):
            continue  # an entry with nothing to cite
        title = html_to_text(entry.get("title", "")) or link
        summary = html_to_text(entry.get("summary", ""))
        when = entry.get("published_parsed") or entry.get("updated_parsed")
        items.append(
            Item(
                url=link,
                title=title[:500],
                excerpt=_excerpt(summary),
                text=f"{title} {summary}",
                published_on=dt.date(*when[:3]) if when else None,
                document_number=fr_document_number(link),
            )
        )
    return Parsed(items)


# ClinicalTrials.gov -----------------------------------------------------------


def _study_fields(n: int, study: Any) -> dict[str, Any]:
    _shape(isinstance(study, dict), f"studies[{n}] is not an object")
    protocol = study.get("protocolSection")
    _shape(isinstance(protocol, dict), f"studies[{n}] has no protocolSection")
    ident = protocol.get("identificationModule") or {}
    status = protocol.get("statusModule") or {}
    _shape(isinstance(ident, dict) and isinstance(ident.get("nctId"), str), f"studies[{n}] has no nctId")
    _shape(isinstance(status, dict), f"studies[{n}] statusModule is not an object")
    design = protocol.get("designModule") if isinstance(protocol.get("designModule"), dict) else {}
    arms = protocol.get("armsInterventionsModule") if isinstance(protocol.get("armsInterventionsModule"), dict) else {}
    interventions = [i.get("name", "") for i in arms.get("interventions") or [] if isinstance(i, dict)]
    listed_phases = design.get("phases")
    phases = listed_phases if isinstance(listed_phases, list) else []
    return {
        "nct": ident["nctId"],
        "title": str(ident.get("briefTitle") or ident.get("officialTitle") or ident["nctId"]),
        "official": str(ident.get("officialTitle") or ""),
        "status": str(status.get("overallStatus") or ""),
        "phases": [str(p) for p in phases],
        "results": bool(study.get("hasResults")),
        "updated": (status.get("lastUpdatePostDateStruct") or {}).get("date"),
        "interventions": interventions,
    }


def _label(value: str) -> str:
    return value.replace("_", " ").lower()


def clinicaltrials_parse(source: WatchedSource, fetched: Fetched) -> Parsed:
    """API v2 /studies: {"studies": [{"protocolSection": {identificationModule,
    statusModule, designModule, armsInterventionsModule}, "hasResults"}],
    "nextPageToken"}. The first poll records each study's phase, overall
    status and results as a baseline; later polls propose what changed and
    studies not seen before."""
    data = _json(fetched)
    _shape(isinstance(data, dict), "expected an object with 'studies'")
    studies = data.get("studies")
    _shape(isinstance(studies, list), "'studies' is missing or not a list")
    baseline = "studies" not in source.state
    seen: dict[str, Any] = dict(source.state.get("studies", {}))
    items = []
    for n, study in enumerate(studies):
        f = _study_fields(n, study)
        snapshot = {"status": f["status"], "phases": f["phases"], "results": f["results"]}
        before = seen.get(f["nct"])
        seen[f["nct"]] = snapshot
        if baseline or before == snapshot:
            continue
        if before is None:
            changes = [f"new study, {_label(f['status']) or 'status not given'}"]
        else:
            changes = []
            if before.get("status") != f["status"]:
                changes.append(f"overall status {_label(before.get('status') or 'none')} → {_label(f['status'])}")
            if before.get("phases") != f["phases"]:
                changes.append(
                    f"phase {'/'.join(before.get('phases') or ['none'])} → {'/'.join(f['phases']) or 'none'}"
                )
            if f["results"] and not before.get("results"):
                changes.append("results posted")
            if not changes:
                continue
        phase = "/".join(f["phases"]) or "no phase"
        items.append(
            Item(
                url=f"https://clinicaltrials.gov/study/{f['nct']}",
                title=f"{f['nct']}: {f['title']} ({'; '.join(changes)})"[:500],
                excerpt=_excerpt(
                    f"{f['official'] or f['title']}. {phase}, {_label(f['status'])}. "
                    f"Interventions: {', '.join(f['interventions']) or 'not listed'}."
                ),
                text=" ".join([f["title"], f["official"], *f["interventions"]]),
                published_on=_date(f["updated"]),
                document_number=f"{f['nct']} {f['status']} {phase}{' results' if f['results'] else ''}",
                kind_hint="trial result" if "results posted" in changes else "",
                is_change=True,
            )
        )
    return Parsed(items, state={**source.state, "studies": seen})


# Page changed -----------------------------------------------------------------

_SKIP_TAGS = {
    "script",
    "style",
    "noscript",
    "template",
    "nav",
    "header",
    "footer",
    "aside",
    "form",
    "svg",
    "iframe",
    "button",
    "select",
}
_BLOCK_TAGS = {
    "p",
    "div",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "tr",
    "br",
    "section",
    "article",
    "main",
    "td",
    "th",
    "dd",
    "dt",
    "table",
    "ul",
    "ol",
    "blockquote",
    "pre",
    "hr",
    "time",
}
_VOID_TAGS = {"br", "hr", "img", "meta", "link", "input", "source", "wbr", "area", "base", "col", "embed"}


class _TextExtractor(HTMLParser):
    """The visible text of a page, in lines; the <main> (or <article>, or
    role="main") region's alone when there is one."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.skip_depth = 0
        self.main_depth = 0
        self.stack: list[tuple[str, bool, bool]] = []  # tag, skips, is main
        self.all: list[str] = []
        self.main: list[str] = []
        self.found_main = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID_TAGS:
            if tag in _BLOCK_TAGS:
                self._break()
            return
        skips = tag in _SKIP_TAGS
        is_main = self.main_depth == 0 and (tag in ("main", "article") or dict(attrs).get("role") == "main")
        self.stack.append((tag, skips, is_main))
        self.skip_depth += skips
        if is_main:
            self.main_depth += 1
            self.found_main = True
        if tag in _BLOCK_TAGS:
            self._break()

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID_TAGS or not any(t == tag for t, _, _ in self.stack):
            return
        while self.stack:
            name, skips, is_main = self.stack.pop()
            self.skip_depth -= skips
            self.main_depth -= is_main
            if name == tag:
                break
        if tag in _BLOCK_TAGS:
            self._break()

    def handle_data(self, data: str) -> None:
        if self.skip_depth:
            return
        self.all.append(data)
        if self.main_depth:
            self.main.append(data)

    def _break(self) -> None:
        self.all.append("\n")
        if self.main_depth:
            self.main.append("\n")

    def lines(self) -> list[str]:
        chunks = self.main if self.found_main else self.all
        return [line for line in (re.sub(r"\s+", " ", raw).strip() for raw in "".join(chunks).split("\n")) if line]


def html_to_text(html: str) -> str:
    if not html or "<" not in html:
        return (html or "").strip()
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    return " ".join(extractor.lines())


def _charset(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name.strip().strip("\"'")).name
    except LookupError:
        return None


def html_decode(content: bytes, content_type: str) -> str:
    """The page's text in the encoding it declares: the Content-Type
    charset, else a byte-order mark or <meta charset> near the top, else UTF-8
    (Windows-1252 when that fails, as browsers do)."""
    header = re.search(r"charset=([^;\s]+)", content_type or "", re.I)
    declared = _charset(header.group(1)) if header else None
    if not declared:
        for bom, name in (
            (codecs.BOM_UTF8, "utf-8-sig"),
            (codecs.BOM_UTF16_LE, "utf-16"),
            (codecs.BOM_UTF16_BE, "utf-16"),
        ):
            if content.startswith(bom):
                declared = name
                break
    if not declared:
        meta = re.search(rb"<meta[^>]+charset\s*=\s*[\"']?([\w.:-]+)", content[:4096], re.I)
        declared = _charset(meta.group(1).decode("ascii", "replace")) if meta else None
    try:
        return content.decode(declared or "utf-8")
    except UnicodeDecodeError:
        return content.decode("cp1252" if not declared or declared == "utf-8" else declared, errors="replace")


def page_lines(fetched: Fetched) -> list[str]:
    content_type = fetched.headers.get("content-type", "")
    if content_type and not re.match(r"\s*(text/html|application/xhtml\+xml|text/plain)", content_type, re.I):
        raise SourceError(f"expected an HTML page, got {content_type.split(';')[0]}")
    text = html_decode(fetched.content, content_type)
    if "text/plain" in content_type.lower():
        return [line.strip() for line in text.splitlines() if line.strip()]
    extractor = _TextExtractor()
    extractor.feed(text)
    extractor.close()
    return extractor.lines()


def page_parse(source: WatchedSource, fetched: Fetched) -> Parsed:
    """The page's main text against the copy kept from the last poll; the
    lines added are the item. The first poll keeps a copy and proposes nothing."""
    lines = page_lines(fetched)
    digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()
    state = {**source.state, "lines": lines, "sha256": digest}
    before = source.state.get("lines")
    if before is None or source.state.get("sha256") == digest:
        return Parsed([], state=state)
    added = [
        line[1:]
        for line in difflib.unified_diff(before, lines, lineterm="", n=0)
        if line.startswith("+") and not line.startswith("+++")
    ]
    if not added:
        return Parsed([], state=state)  # only removals: nothing new to propose
    changed = "\n".join(added)
    return Parsed(
        [
            Item(
                url=fetched.url if fetched.url.startswith(("http://", "https://")) else source.url,
                title=f"{source.name}: page changed ({timezone.localdate():%d %b %Y})",
                excerpt=_excerpt(changed),
                text=changed,
                published_on=timezone.localdate(),
                document_number=f"page {digest[:16]}",
                is_change=True,
            )
        ],
        state=state,
    )


PARSERS: dict[str, Callable[[WatchedSource, Fetched], Parsed]] = {
    Adapter.FEDERAL_REGISTER: federal_register_parse,
    Adapter.FEED: feed_parse,
    Adapter.CLINICALTRIALS: clinicaltrials_parse,
    Adapter.PAGE: page_parse,
}

ACCEPT: dict[str, str] = {
    Adapter.FEDERAL_REGISTER: "application/json",
    Adapter.FEED: "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5",
    Adapter.CLINICALTRIALS: "application/json",
    Adapter.PAGE: "text/html, application/xhtml+xml;q=0.9, */*;q=0.5",
}
