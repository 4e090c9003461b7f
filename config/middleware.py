"""Project-wide middleware: input that cannot be stored, response headers.

`SecurityHeadersMiddleware` puts a strict Content-Security-Policy (scripts,
styles, images, fonts and connections from this origin only; no inline
script or style) and a Permissions-Policy on every response, static files
included. The site's own pages have no inline code; the API docs page is
the project's own template (templates/api_docs.html) with its set-up in a
static file.

`GZipPublicMiddleware` compresses the bodies of public reads (pages, API,
feeds, exports) with ETags kept strong and honest: see its docstring.

`UnstorableInputMiddleware` answers 400, naming the parameter, for a query
string, form body or credential carrying a character that PostgreSQL refuses
in text (NUL) or that cannot be encoded at all (a lone surrogate), before any
view or database lookup sees it: otherwise such a value reaches a query and
answers 500. JSON bodies are checked by the API's parser
(regulatory/api/parsers.py), which can name the field inside the document.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.regex_helper import _lazy_re_compile
from django.utils.text import compress_string

# As django.middleware.gzip reads Accept-Encoding.
re_accepts_gzip = _lazy_re_compile(r"\bgzip\b")

# NUL, which PostgreSQL refuses in text, and lone UTF-16 surrogates, which
# have no UTF-8 encoding (form decoding replaces undecodable bytes, so they
# only arrive through escapes, but a value built elsewhere may carry one).
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE_MESSAGE = "Contains a character that cannot be stored (a NUL byte or a lone surrogate)."


def unstorable(value: str) -> bool:
    return UNSTORABLE.search(value) is not None


def printable_name(name: str) -> str:
    """A parameter name fit to be shown back, even one with NUL in it."""
    return UNSTORABLE.sub("\N{REPLACEMENT CHARACTER}", name)[:100]


def wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or "json" in request.META.get("HTTP_ACCEPT", "")


def bad_input_response(request: HttpRequest, *, name: str, message: str, where: str) -> HttpResponse:
    """A 400 naming the parameter: JSON in the API's shape (key → messages),
    or a page."""
    if wants_json(request):
        return JsonResponse({name: [message]}, status=400)
    return render(request, "bad_input.html", {"name": name, "message": message, "where": where}, status=400)


def _query_may_be_unstorable(request: HttpRequest) -> bool:
    """Whether the query string must be parsed to be checked. An ASCII one
    without a NUL or a "%00" cannot hold an unstorable value once Django has
    parsed it: escapes are decoded as UTF-8 with undecodable bytes replaced,
    which never yields a surrogate, and "%00" is the only escape of a NUL.
    Most requests are such, and most cached reads never parse their query
    string otherwise (see regulatory.httpcache.validators)."""
    query = request.META.get("QUERY_STRING", "")
    if not query:
        return False
    encoding = (request.encoding or settings.DEFAULT_CHARSET).lower()
    return not query.isascii() or "%00" in query or "\x00" in query or encoding not in ("utf-8", "utf8")


def _first_unstorable(items: Iterable[tuple[str, list[str]]]) -> str | None:
    for name, values in items:
        if unstorable(name) or any(unstorable(value) for value in values):
            return printable_name(name)
    return None


# The admin's date_hierarchy parameters: Django turns a value it cannot make a
# date of into its "?e=1" page, but one past the calendar (year 9999 and
# month 12, or a number past a C long) raises OverflowError, a 500.
_ADMIN_DATE_PART = re.compile(r"__(year|month|day)$")
_ADMIN_DATE_RANGE = {"year": (1, 9998), "month": (1, 12), "day": (1, 31)}


def admin_date_problem(request: HttpRequest) -> str | None:
    """The first date_hierarchy parameter of an admin list that is not a
    number in its range."""
    for name in request.GET:
        value = request.GET[name]
        part = _ADMIN_DATE_PART.search(name)
        if part is None:
            continue
        low, high = _ADMIN_DATE_RANGE[part.group(1)]
        if not (value.isascii() and value.isdigit() and len(value) <= 4 and low <= int(value) <= high):
            return name
    return None


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


class UnstorableInputMiddleware:
    FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.admin_prefix = reverse("admin:index")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and request.content_type != "multipart/form-data" and _content_length(request) > limit:
            # Django would refuse it later (RequestDataTooBig) with a bare
            # 400 page, even to an API client; say what is wrong, and in its format.
            response = bad_input_response(
                request, name="body", where="body", message=f"The request body is larger than {limit} bytes."
            )
            response.status_code = 413
            return response
        problem = self.problem(request)
        if problem is not None:
            name, where = problem
            return bad_input_response(request, name=name, message=UNSTORABLE_MESSAGE, where=where)
        if request.path.startswith(self.admin_prefix):
            date_name = admin_date_problem(request)
            if date_name is not None:
                return bad_input_response(
                    request,
                    name=date_name,
                    where="query",
                    message="Enter a year from 1 to 9998, a month from 1 to 12, a day from 1 to 31.",
                )
        return self.get_response(request)

    def problem(self, request: HttpRequest) -> tuple[str, str] | None:
        """(name, where) of the first value that cannot be stored, or None."""
        if _query_may_be_unstorable(request):
            name = _first_unstorable(request.GET.lists())
            if name is not None:
                return name, "query"
        for cookie in (settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME):
            if unstorable(request.COOKIES.get(cookie, "")):
                return cookie, "cookie"
        if unstorable(request.META.get("HTTP_AUTHORIZATION", "")):
            return "Authorization", "header"
        if request.method == "POST" and request.content_type in self.FORM_TYPES:
            # Parsing here is what CsrfViewMiddleware does next anyway; Django
            # and DRF both reuse the parsed form. A body over Django's size
            # limits raises RequestDataTooBig / TooManyFieldsSent (a 400).
            name = _first_unstorable(request.POST.lists())
            if name is not None:
                return name, "form"
            for field, files in request.FILES.lists():
                if unstorable(field) or any(unstorable(f.name or "") for f in files):
                    return printable_name(field), "form"
        return None


CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        # Swagger UI's and the admin's icons are data: URIs in their style sheets.
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# Nothing here needs a device or a tracking API: deny them to the page and
# to anything it could embed.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "encrypted-media",
        "fullscreen",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "picture-in-picture",
        "publickey-credentials-get",
        "screen-wake-lock",
        "sync-xhr",
        "usb",
        "xr-spatial-tracking",
        "browsing-topics",
    )
)


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response


class GZipPublicMiddleware:
    """gzip for the bodies of public reads, with honest ETags.

    Only answers marked `Cache-Control: public` (the validators' stamp on
    reads for readers without credentials) are compressed: they hold nothing
    secret, so compression cannot leak one (BREACH), and they are the large
    ones. Every such answer says `Vary: Accept-Encoding`.

    A compressed body is another representation, so it gets its own strong
    ETag: the identity one with "-gz" inside the quotes (Django's
    GZipMiddleware would weaken it instead, which makes If-Match useless).
    Before the view sees a request, "-gz" is taken off the ETags in
    If-None-Match and If-Match, so the validators, the kept bodies and the
    304 short path compare the identity ETag as they always have; a 304 then
    names the representation the client holds."""

    SUFFIX = "-gz"
    MIN_LENGTH = 200
    TYPES = (
        "text/html",
        "application/json",
        "application/vnd.oai.openapi",
        "application/atom+xml",
        "text/calendar",
        "text/csv",
        "application/xml",
        "text/plain",
    )

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        held_gzip = False
        for header in ("HTTP_IF_NONE_MATCH", "HTTP_IF_MATCH"):
            value = request.META.get(header)
            if value and self.SUFFIX + '"' in value:
                request.META[header] = value.replace(self.SUFFIX + '"', '"')
                held_gzip = True
        response = self.get_response(request)
        if response.status_code == 304:
            if held_gzip:
                self._suffix_etag(response)
            return response
        if not self._compressible(response):
            return response
        patch_vary_headers(response, ("Accept-Encoding",))
        if not re_accepts_gzip.search(request.META.get("HTTP_ACCEPT_ENCODING", "")):
            return response
        compressed = compress_string(response.content)
        if len(compressed) >= len(response.content):
            return response
        response.content = compressed
        response["Content-Length"] = str(len(compressed))
        response["Content-Encoding"] = "gzip"
        self._suffix_etag(response)
        return response

    def _compressible(self, response: HttpResponse) -> bool:
        return (
            response.status_code == 200
            and not response.streaming
            and not response.has_header("Content-Encoding")
            and "public" in response.get("Cache-Control", "")
            and response.get("Content-Type", "").split(";")[0].strip().startswith(self.TYPES)
            and len(response.content) >= self.MIN_LENGTH
        )

    def _suffix_etag(self, response: HttpResponse) -> None:
        etag = response.get("ETag", "")
        if etag.startswith('"') and etag.endswith('"') and not etag.endswith(self.SUFFIX + '"'):
            response["ETag"] = etag[:-1] + self.SUFFIX + '"'
