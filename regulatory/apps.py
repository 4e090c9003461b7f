from django.apps import AppConfig


class RegulatoryConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "regulatory"
    verbose_name = "Regulatory record"
