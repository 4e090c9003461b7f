from django.contrib import admin
from django.urls import include, path

from config.health import healthz

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("api/v1/", include("regulatory.api.urls")),
    path("", include("regulatory.urls_feeds")),
    path("", include("tracker.urls")),
    path("", include("regulatory.urls")),
]
