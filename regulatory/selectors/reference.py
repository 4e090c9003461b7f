"""The reference-data lists: jurisdictions, therapies and access programmes."""

from __future__ import annotations

from django.db.models import QuerySet

from regulatory.models import Jurisdiction, Therapy


def jurisdiction_list() -> QuerySet[Jurisdiction]:
    return (
        Jurisdiction.objects.select_related("parent")
        .prefetch_related("regulators", "covers_therapies")
        .order_by("position", "code")
    )


def therapy_list() -> QuerySet[Therapy]:
    return Therapy.objects.order_by("position", "slug")


def access_programme_list():
    from regulatory.models import AccessProgramme

    return (
        AccessProgramme.objects.select_related("jurisdiction", "regulator")
        .prefetch_related("therapies", "sources")
        .order_by("jurisdiction__position", "name", "id")
    )
