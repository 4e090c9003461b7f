from django.apps import AppConfig


class TrackerConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "tracker"
    verbose_name = "Subscribers and delivery"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from regulatory.models import Change
        from tracker import checks  # noqa: F401 - registers the system checks
        from tracker.receivers import change_recorded

        post_save.connect(change_recorded, sender=Change, dispatch_uid="tracker.change_recorded")
