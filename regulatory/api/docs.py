"""The OpenAPI schema, and the interactive API docs (Swagger UI, from
drf-spectacular-sidecar's static files) on the project's own page:
drf-spectacular's sets Swagger UI up in an inline script, which the
Content-Security-Policy forbids."""

from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from regulatory.httpcache import cached_read
from regulatory.httpcache.deploy import code_version


@cached_read(source=code_version, params=["format"])
class SchemaApi(SpectacularAPIView):
    """The schema, conditional and kept like every public read. It is built
    from the code and the settings alone (the same for every reader), so its
    validators come from the code's version, which moves only on a deploy;
    `?lang=` and `?version=` are answered but not kept."""


class ApiDocsView(SpectacularSwaggerView):
    template_name = "api_docs.html"
