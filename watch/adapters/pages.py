"""Page changed: a page's readable text, compared with the last poll's."""

from __future__ import annotations

import codecs
import difflib
import hashlib
import re
from html.parser import HTMLParser

from django.utils import timezone

from watch.adapters.base import Item, Parsed, _excerpt
from watch.fetch import Fetched, SourceError
from watch.models import WatchedSource

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
