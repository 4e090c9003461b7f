"""Which parser reads each kind of source, and what it asks the server for."""

from __future__ import annotations

from collections.abc import Callable

from watch.adapters.base import Parsed
from watch.adapters.clinicaltrials import clinicaltrials_parse
from watch.adapters.feeds import federal_register_parse, feed_parse
from watch.adapters.pages import page_parse
from watch.fetch import Fetched
from watch.models import Adapter, WatchedSource

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
