"""JSON API under /api/v1/, its OpenAPI schema and its interactive docs."""

from django.urls import path, re_path

from regulatory.api import compare as compare_views
from regulatory.api import views
from regulatory.api.docs import ApiDocsView, SchemaApi

urlpatterns = [
    path("", views.api_root, name="api-root"),
    path("jurisdictions/", views.JurisdictionListApi.as_view(), name="api-jurisdiction-list"),
    path("jurisdictions/<slug:code>/", views.JurisdictionDetailApi.as_view(), name="api-jurisdiction-detail"),
    path("therapies/", views.TherapyListApi.as_view(), name="api-therapy-list"),
    path("therapies/<slug:slug>/", views.TherapyDetailApi.as_view(), name="api-therapy-detail"),
    path("access-programmes/", views.AccessProgrammeListApi.as_view(), name="api-access-programme-list"),
    path(
        "access-programmes/<slug:slug>/", views.AccessProgrammeDetailApi.as_view(), name="api-access-programme-detail"
    ),
    path("decisions/", views.DecisionListApi.as_view(), name="api-decision-list"),
    path("decisions/<int:pk>/", views.DecisionDetailApi.as_view(), name="api-decision-detail"),
    path("decisions/<int:pk>/publish/", views.DecisionPublishApi.as_view(), name="api-decision-publish"),
    path("status/", views.StatusApi.as_view(), name="api-status"),
    path("status/changes/", compare_views.StatusChangesApi.as_view(), name="api-status-changes"),
    path("status/history/", compare_views.StatusHistoryApi.as_view(), name="api-status-history"),
    path("schema/", SchemaApi.as_view(), name="api-schema"),
    # Swagger UI from drf-spectacular-sidecar's static files (no CDN). Not
    # Redoc: drf-spectacular's Redoc page pulls its fonts from Google.
    path("docs/", ApiDocsView.as_view(url_name="api-schema"), name="api-docs"),
    # Last: a malformed id or code under these resources gets a JSON 404, not
    # the HTML page. Limited to them: other apps mount URLs under /api/v1/ too.
    re_path(
        r"^(?:decisions|jurisdictions|therapies|access-programmes|status)/.+$", views.not_found, name="api-not-found"
    ),
]
