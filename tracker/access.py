"""Who may see subscribers' addresses: users with an explicit permission,
given through the "Subscriber managers" group, not every editor.

Editors (regulatory/editors.py) get every tracker `view_*` permission, which
is enough to follow deliveries (counts per change, status and errors of each
row) with subscribers shown by number. The address permission's codename
deliberately does not start with `view_`, so that it never comes with them.
"""

from __future__ import annotations

import re

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q

SUBSCRIBER_MANAGERS_GROUP = "Subscriber managers"
ADDRESS_PERMISSION = "tracker.see_subscriber_address"

# Subscriber managers see addresses and, to find their way to them, every
# tracker admin page (an editor has these already).
_MANAGER_PERMISSIONS = Q(content_type__app_label="tracker") & (
    Q(codename="see_subscriber_address") | Q(codename__startswith="view_")
)

# Anything shaped like an address in free text (SMTP answers often quote the
# recipient: "550 5.1.1 <carol@example.org>: user unknown").
_ADDRESS_IN_TEXT = re.compile(r"[^\s<>()\[\]\"',;:]+@[^\s<>()\[\]\"',;:]+")
HIDDEN = "[address hidden]"


def user_sees_subscriber_addresses(user) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.has_perm(ADDRESS_PERMISSION)


def addresses_hidden(text: str) -> str:
    """`text` with every address in it replaced, for readers without the permission."""
    return _ADDRESS_IN_TEXT.sub(HIDDEN, text or "")


def subscriber_managers_group_sync() -> Group:
    group, _ = Group.objects.get_or_create(name=SUBSCRIBER_MANAGERS_GROUP)
    group.permissions.set(Permission.objects.filter(_MANAGER_PERMISSIONS))
    return group


@transaction.atomic
def subscriber_manager_grant(*, username: str) -> None:
    """Put an existing staff user in the Subscriber managers group.
    LookupError when there is no such user, ValueError when they are not staff."""
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise LookupError(username)
    if not user.is_staff:
        raise ValueError(username)
    user.groups.add(subscriber_managers_group_sync())


@transaction.atomic
def subscriber_manager_revoke(*, username: str) -> None:
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise LookupError(username)
    user.groups.remove(subscriber_managers_group_sync())
