"""What the site answers when a service it needs is down.

Django turns an exception no view handled into handler500's answer. When that
exception says the database (or the cache behind the rate limits and the
response cache) is unreachable or not answering, the honest answer is a 503
with Retry-After, in the client's format: the request may well succeed in a
minute, and monitors and clients treat it so. Everything else keeps
Django's 500 page. The 503 page is rendered without the request's context:
that context looks up the user, which needs the database that is down.
"""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.views import defaults
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from config.middleware import wants_json

UNAVAILABLE = (OperationalError, InterfaceError, RedisConnectionError, RedisTimeoutError)
RETRY_AFTER_SECONDS = 30


def service_unavailable(request: HttpRequest) -> HttpResponse:
    if wants_json(request):
        response: HttpResponse = JsonResponse(
            {"detail": "The service is temporarily unavailable; try again shortly."}, status=503
        )
    else:
        response = HttpResponse(loader.render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def server_error(request: HttpRequest, template_name: str = "500.html") -> HttpResponse:
    exc = sys.exc_info()[1]
    if isinstance(exc, UNAVAILABLE):
        return service_unavailable(request)
    if wants_json(request):
        return JsonResponse({"detail": "Server error."}, status=500)
    return defaults.server_error(request, template_name)
