"""How tracker learns about new Changes without regulatory knowing: a
post_save receiver queues the fan-out once the edit's transaction commits.
If that message is lost (broker down, Redis flushed), the sweeper finds the
change by its missing or unfinished ChangeFanOut."""

from __future__ import annotations

from django.db import transaction

from regulatory.models import Change


def change_recorded(sender: type[Change], instance: Change, created: bool, raw: bool = False, **kwargs) -> None:
    if not created or raw or instance.is_import:
        return
    from tracker.tasks import change_fan_out, enqueue

    change_id = instance.pk
    transaction.on_commit(lambda: enqueue(change_fan_out, change_id), using=kwargs.get("using"))
