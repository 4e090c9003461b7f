"""System checks for a production deployment (`manage.py check --deploy`)."""

from __future__ import annotations

from email.utils import parseaddr

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

# Domains that no mail server outside this machine will accept mail from.
LOCAL_DOMAINS = {"localhost", "localhost.localdomain", "localdomain"}


def _is_local(address: str) -> bool:
    _name, addr = parseaddr(address)
    domain = addr.rpartition("@")[2].strip().lower().rstrip(".")
    if "@" not in addr or not domain or "." not in domain:
        return True
    return domain in LOCAL_DOMAINS or domain.endswith(
        (".localhost", ".local", ".localdomain", ".invalid", ".test", ".example")
    )


@register(Tags.security, Tags.compatibility, deploy=True)
def check_sender_address(app_configs=None, **kwargs) -> list[CheckMessage]:
    """Subscribers' mail goes out from DEFAULT_FROM_EMAIL: the development
    default (alerts@localhost) is refused or spam-filtered by every receiving
    server, and bounces would go nowhere."""
    errors: list[CheckMessage] = []
    names = ["DEFAULT_FROM_EMAIL"]
    if settings.SERVER_EMAIL != settings.DEFAULT_FROM_EMAIL:
        names.append("SERVER_EMAIL")
    for name in names:
        value = getattr(settings, name, "")
        if _is_local(value):
            errors.append(
                Error(
                    f"{name} is {value!r}, an address on no public domain.",
                    hint=f"Set {name} (e.g. 'Regulatory Tracker <alerts@tracker.example.org>') to an address "
                    "on the site's own mail domain.",
                    id="config.E001" if name == "DEFAULT_FROM_EMAIL" else "config.E002",
                )
            )
    return errors
