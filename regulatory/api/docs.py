"""The interactive API docs (Swagger UI, from drf-spectacular-sidecar's
static files), on the project's own page: drf-spectacular's sets Swagger UI
up in an inline script, which the Content-Security-Policy forbids."""

from drf_spectacular.views import SpectacularSwaggerView


class ApiDocsView(SpectacularSwaggerView):
    template_name = "api_docs.html"
