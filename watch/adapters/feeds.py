"""The Federal Register's API and RSS / Atom feeds."""

from __future__ import annotations

import datetime as dt

import feedparser

from watch.adapters.base import Item, Parsed, _date, _excerpt, _json, _shape, fr_document_number
from watch.adapters.pages import html_to_text
from watch.fetch import Fetched, SourceError
from watch.models import WatchedSource

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
