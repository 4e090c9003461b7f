"""What each kind of watched source publishes, read into items.

An adapter takes the source and the fetched response and returns the items
it found plus the state to keep for the next poll. A body that is not what
the service publishes (not JSON, not a feed, the wrong JSON shape, not HTML)
raises SourceError with the reason; nothing is written for that poll.
"""

# isort: off
# In the order of the single module they came from.
from watch.adapters.base import (
    EXCERPT_CHARS,
    Item,
    Parsed,
    fr_document_number,
)
from watch.adapters.feeds import (
    federal_register_parse,
    feed_parse,
)
from watch.adapters.clinicaltrials import (
    clinicaltrials_parse,
)
from watch.adapters.pages import (
    html_to_text,
    html_decode,
    page_lines,
    page_parse,
)
from watch.adapters.registry import (
    PARSERS,
    ACCEPT,
)
# isort: on

__all__ = [
    "EXCERPT_CHARS",
    "Item",
    "Parsed",
    "fr_document_number",
    "federal_register_parse",
    "feed_parse",
    "clinicaltrials_parse",
    "html_to_text",
    "html_decode",
    "page_lines",
    "page_parse",
    "PARSERS",
    "ACCEPT",
]
