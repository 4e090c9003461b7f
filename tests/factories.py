"""factory_boy factories for the jurisdiction → decision → source graph."""

from __future__ import annotations

import datetime as dt

import factory
from django.contrib.auth import get_user_model

from regulatory.models import (
    Decision,
    DecisionKind,
    Jurisdiction,
    Regulator,
    Source,
    SourceGrade,
    Therapy,
)
from regulatory.services import decision_publish


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")


class JurisdictionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Jurisdiction
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"j{n}")
    name = factory.LazyAttribute(lambda j: f"Jurisdiction {j.code.upper()}")


class RegulatorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Regulator
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"reg{n}")
    name = factory.LazyAttribute(lambda r: f"Regulator {r.code.upper()}")
    jurisdiction = factory.SubFactory(JurisdictionFactory)


class TherapyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Therapy
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"therapy-{n}")
    name = factory.LazyAttribute(lambda t: f"Therapy {t.slug}")
    substance = "MDMA"
    indication = "PTSD"


_STATUS_SHORTHAND = {
    "": ("", ""),
    "prohibited": ("prohibited", ""),
    "medical_use_permitted": ("medical_use_permitted", ""),
    "not_controlled": ("not_controlled", ""),
    **{
        stage: ("", stage)
        for stage in ("none", "investigational", "under_review", "approved", "not_approved", "withdrawn")
    },
}


class DecisionFactory(factory.django.DjangoModelFactory):
    """A draft decision with one source. Use `published_decision()` for a published one."""

    class Meta:
        model = Decision
        skip_postgeneration_save = True

    slug = factory.Sequence(lambda n: f"decision-{n}")
    jurisdiction = factory.SubFactory(JurisdictionFactory)
    regulator = factory.SubFactory(RegulatorFactory, jurisdiction=factory.SelfAttribute("..jurisdiction"))
    kind = DecisionKind.APPROVAL
    title = factory.Sequence(lambda n: f"Decision number {n}")
    summary = "What the regulator decided, in two sentences."
    announced_on = dt.date(2024, 2, 9)
    control = factory.LazyAttribute(lambda d: _STATUS_SHORTHAND[d.status][0])
    control_instrument = factory.LazyAttribute(lambda d: "Schedule I, Controlled Substances Act" if d.control else "")
    approval_stage = factory.LazyAttribute(lambda d: _STATUS_SHORTHAND[d.status][1])
    effective_on = factory.LazyAttribute(lambda d: d.announced_on if d.control or d.approval_stage else None)

    class Params:
        # Shorthand for tests: one word sets the dimension it names
        # ("prohibited" a control, a stage an approval stage). Access is never
        # a decision's: make an AccessProgramme.
        status = ""

    @factory.post_generation
    def therapies(self, create, extracted, **kwargs):
        if not create:
            return
        self.therapies.set(extracted if extracted is not None else [TherapyFactory()])

    @factory.post_generation
    def with_source(self, create, extracted, **kwargs):
        if create and extracted is not False:
            SourceFactory(decision=self)


class SourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Source

    decision = factory.SubFactory(DecisionFactory, with_source=False)
    url = factory.Sequence(lambda n: f"https://example.gov/notice/{n}")
    title = "Official notice"
    publisher = "Regulator"
    published_on = dt.date(2024, 2, 9)
    grade = SourceGrade.OFFICIAL


def published_decision(*, by=None, **kwargs) -> Decision:
    """Create a decision through the factory and publish it through the service."""
    decision = DecisionFactory(**kwargs)
    decision_publish(decision=decision, by=by)
    decision.refresh_from_db()
    return decision
