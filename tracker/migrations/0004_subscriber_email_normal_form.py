"""Bring stored subscriber addresses into the normal form new requests use
(tracker/addresses.py), so that a later request for the same mailbox finds
the existing row instead of creating a second one.

Nothing is lost: a row whose address cannot take the normal form (it has an
invisible character, a quote that cannot simply be dropped, or another row
already holds that form) is left exactly as stored and keeps its
subscriptions and its mail; its id is logged for a subscriber manager to look at.
"""

import logging
import re

from django.core.exceptions import ValidationError
from django.db import migrations

logger = logging.getLogger("tracker.migrations")

# A quoted local part whose content needs no quoting ("carol"@example.org) is
# the same mailbox as the unquoted one; new requests refuse quotes altogether.
_QUOTED_ATOM = re.compile(r'^"([A-Za-z0-9!#$%&\'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&\'*+/=?^_`{|}~-]+)*)"@')


def normal_form_or_none(email: str) -> str | None:
    from tracker.addresses import email_normalise

    try:
        return email_normalise(_QUOTED_ATOM.sub(r"\1@", email.strip()))
    except ValidationError:
        return None


def subscribers_normalise(apps, schema_editor):
    Subscriber = apps.get_model("tracker", "Subscriber")
    rows = list(Subscriber.objects.order_by("pk").values_list("pk", "email"))
    # Who holds each address under the unique constraint on LOWER(email).
    holders = {email.lower(): pk for pk, email in rows}
    kept = []
    for pk, email in rows:
        normal = normal_form_or_none(email)
        if normal == email:
            continue
        if normal is None or holders.get(normal.lower(), pk) != pk:
            kept.append(pk)
            continue
        Subscriber.objects.filter(pk=pk).update(email=normal)
        if holders.get(email.lower()) == pk:
            del holders[email.lower()]
        holders[normal.lower()] = pk
    if kept:
        logger.warning("Subscriber address(es) kept as stored (no normal form, or another subscriber holds it): "
                       "ids %s", ", ".join(str(pk) for pk in kept))


class Migration(migrations.Migration):

    dependencies = [
        ("tracker", "0003_notification_drop_redundant_indexes"),
    ]

    operations = [
        migrations.RunPython(subscribers_normalise, migrations.RunPython.noop),
    ]
