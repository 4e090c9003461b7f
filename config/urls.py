from django.conf import settings
from django.contrib import admin
from django.http import HttpResponseRedirect
from django.templatetags.static import static
from django.urls import include, path

from config.health import healthz

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    # Browsers ask for /favicon.ico on pages that name none (the admin's).
    path("favicon.ico", lambda request: HttpResponseRedirect(static("img/favicon.svg"))),
    path("api/v1/", include("regulatory.api.urls")),
    path("", include("regulatory.urls_feeds")),
    path("", include("tracker.urls")),
    path("", include("regulatory.urls")),
]

if settings.BENCH_ENABLED:
    # Bench-only baseline views (a bare JsonResponse of the same payload size);
    # mounted only when the BENCH setting is on, never in production.
    urlpatterns.insert(0, path("__bench__/", include("bench.urls")))

# A database or cache that is down answers 503 (HTML or JSON), not a 500 page.
handler500 = "config.errors.server_error"
