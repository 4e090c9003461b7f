from django.apps import AppConfig
from django.contrib.staticfiles.apps import StaticFilesConfig as DjangoStaticFilesConfig


class ConfigConfig(AppConfig):
    """The project's own app: it has no models, only the system checks that
    `manage.py check --deploy` runs (config/checks.py)."""

    name = "config"
    verbose_name = "Project configuration"

    def ready(self) -> None:
        from config import checks  # noqa: F401 - registers the checks


class StaticFilesConfig(DjangoStaticFilesConfig):
    """django.contrib.staticfiles, leaving out drf-spectacular-sidecar's Redoc
    bundle (5 MB with its source map; the site serves Swagger UI only), which
    collectstatic would otherwise hash and compress on every deployment."""

    ignore_patterns = [*DjangoStaticFilesConfig.ignore_patterns, "redoc"]
