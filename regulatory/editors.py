"""Editors: staff users in the Editors group, with an API token."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q
from rest_framework.authtoken.models import Token

EDITORS_GROUP = "Editors"

# Editors record and correct the regulatory record, watch deliveries, and
# run the watched sources and their review queue (app label only: no import).
# They cannot manage users, delete anything published (services refuse) or
# delete reference data (jurisdictions, regulators, therapies, programmes).
_EDITOR_PERMISSIONS = (
    (
        Q(content_type__app_label="regulatory")
        & ~Q(codename__in=["delete_jurisdiction", "delete_regulator", "delete_therapy", "delete_accessprogramme"])
    )
    | Q(content_type__app_label="tracker", codename__startswith="view_")
    | Q(content_type__app_label="watch")
)


def editors_group_sync() -> Group:
    group, _ = Group.objects.get_or_create(name=EDITORS_GROUP)
    group.permissions.set(Permission.objects.filter(_EDITOR_PERMISSIONS))
    return group


def user_is_editor(user) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return user.is_superuser or (user.is_staff and user.groups.filter(name=EDITORS_GROUP).exists())


@transaction.atomic
def editor_create(*, username: str, email: str = "") -> tuple:
    """Create (or promote) an editor and return (user, API token key)."""
    User = get_user_model()
    user, created = User.objects.get_or_create(username=username, defaults={"email": email})
    if created:
        user.set_unusable_password()
    user.is_staff = True
    user.is_active = True
    if email:
        user.email = email
    user.save()
    user.groups.add(editors_group_sync())
    token, _ = Token.objects.get_or_create(user=user)
    return user, token.key
