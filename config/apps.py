from django.apps import AppConfig


class ConfigConfig(AppConfig):
    """The project's own app: it has no models, only the system checks that
    `manage.py check --deploy` runs (config/checks.py)."""

    name = "config"
    verbose_name = "Project configuration"

    def ready(self) -> None:
        from config import checks  # noqa: F401 - registers the checks
