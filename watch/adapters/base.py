"""What every adapter returns (items and the state to keep), and the helpers they share."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

from watch.fetch import Fetched, SourceError

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
