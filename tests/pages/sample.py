"""A small record shaped like the shipped dataset (same codes, slugs and key
dates), built through the factories and services, for page tests that must
not depend on the full dataset."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from regulatory.models import (
    AccessProgramme,
    BaselineSource,
    ControlBaseline,
    Decision,
    DecisionKind,
    Jurisdiction,
    Precision,
    ProgrammeKind,
    ProgrammeSource,
    ProgrammeState,
    SourceGrade,
    Therapy,
)
from tests.factories import JurisdictionFactory, RegulatorFactory, SourceFactory, TherapyFactory, published_decision


@dataclass
class Sample:
    us_scheduling: Decision
    us_designation: Decision
    us_acceptance: Decision
    us_refusal: Decision
    au_rescheduling: Decision
    de_programme: Decision
    programme: AccessProgramme


def sample_build(*, extra_decisions: int = 0) -> Sample:
    """The sample record; `extra_decisions` adds that many more US decisions
    (for query-count tests at two data sizes)."""
    us = JurisdictionFactory(code="us", name="United States", position=1)
    au = JurisdictionFactory(code="au", name="Australia", position=2)
    eu = JurisdictionFactory(code="eu", name="European Union", position=3)
    de = JurisdictionFactory(code="de", name="Germany", position=4, parent=eu)
    JurisdictionFactory(code="ch", name="Switzerland", position=5)
    mdma = TherapyFactory(
        slug="mdma-ptsd", name="MDMA-assisted therapy for PTSD", substance="MDMA", indication="PTSD", position=1
    )
    psilo = TherapyFactory(
        slug="psilocybin-trd",
        name="Psilocybin therapy for treatment-resistant depression",
        substance="Psilocybin",
        indication="Treatment-resistant depression",
        position=2,
    )
    dea = RegulatorFactory(code="dea", name="Drug Enforcement Administration", jurisdiction=us)
    fda = RegulatorFactory(code="fda", name="Food and Drug Administration", jurisdiction=us)
    tga = RegulatorFactory(code="tga", name="Therapeutic Goods Administration", jurisdiction=au)
    bfarm = RegulatorFactory(code="bfarm", name="BfArM", jurisdiction=de)

    scheduling = published_decision(
        jurisdiction=us,
        regulator=dea,
        kind=DecisionKind.SCHEDULING,
        therapies=[mdma],
        title="MDMA placed in Schedule I",
        announced_on=dt.date(1985, 5, 31),
        effective_on=dt.date(1985, 7, 1),
        status="prohibited",
    )
    designation = published_decision(
        jurisdiction=us,
        regulator=fda,
        kind=DecisionKind.DESIGNATION,
        therapies=[mdma],
        title="FDA grants Breakthrough Therapy designation",
        announced_on=dt.date(2017, 8, 1),
        announced_precision=Precision.MONTH,
        effective_on=dt.date(2017, 8, 1),
        effective_precision=Precision.MONTH,
        status="investigational",
    )
    acceptance = published_decision(
        jurisdiction=us,
        regulator=fda,
        kind=DecisionKind.ACCEPTANCE,
        therapies=[mdma],
        title="FDA accepts the NDA with priority review",
        announced_on=dt.date(2024, 2, 9),
        effective_on=dt.date(2024, 2, 9),
        target_on=dt.date(2024, 8, 11),
        status="under_review",
    )
    refusal = published_decision(
        jurisdiction=us,
        regulator=fda,
        kind=DecisionKind.REFUSAL,
        therapies=[mdma],
        title="FDA issues a complete response letter",
        announced_on=dt.date(2024, 8, 9),
        effective_on=dt.date(2024, 8, 9),
        status="not_approved",
    )
    SourceFactory(
        decision=refusal,
        url="https://example.org/lykos-crl",
        title="Lykos announces CRL",
        publisher="Lykos Therapeutics",
        grade=SourceGrade.SPONSOR,
    )
    rescheduling = published_decision(
        jurisdiction=au,
        regulator=tga,
        kind=DecisionKind.SCHEDULING,
        therapies=[mdma],
        title="TGA permits authorised psychiatrists to prescribe MDMA",
        announced_on=dt.date(2023, 2, 3),
        effective_on=dt.date(2023, 7, 1),
        control="medical_use_permitted",
        control_instrument="Schedule 8, Poisons Standard (authorised psychiatrists, PTSD)",
    )
    # Before the first recorded Australian event: Schedule 9 (start date unknown).
    baseline = ControlBaseline.objects.create(
        jurisdiction=au,
        substance="MDMA",
        control="prohibited",
        instrument="Schedule 9, Poisons Standard",
        known_before=dt.date(2020, 7, 1),
    )
    BaselineSource.objects.create(
        baseline=baseline,
        url="https://example.org/tga-qa",
        title="TGA Q&A",
        publisher="TGA",
        grade=SourceGrade.OFFICIAL,
    )
    prescribers = AccessProgramme.objects.create(
        slug="au-authorised-prescriber",
        name="Authorised Prescriber scheme",
        jurisdiction=au,
        regulator=tga,
        kind=ProgrammeKind.AUTHORISED_PRESCRIBER,
        summary="Authorised psychiatrists.",
        opened_on=dt.date(2023, 7, 1),
        state=ProgrammeState.OPEN,
    )
    prescribers.therapies.set([mdma])
    ProgrammeSource.objects.create(
        programme=prescribers,
        url="https://example.org/tga-ap",
        title="TGA AP",
        publisher="TGA",
        grade=SourceGrade.OFFICIAL,
    )
    expanded = AccessProgramme.objects.create(
        slug="us-mdma-expanded-access",
        name="MDMA-AT Expanded Access protocol",
        jurisdiction=us,
        regulator=fda,
        kind=ProgrammeKind.EXPANDED_ACCESS,
        summary="A sponsor protocol.",
        opened_on=dt.date(2019, 12, 20),
        state=ProgrammeState.CLOSED,
        capped=True,
        capacity="50 patients",
    )
    expanded.therapies.set([mdma])
    ProgrammeSource.objects.create(
        programme=expanded,
        url="https://example.org/maps-ea",
        title="MAPS EA",
        publisher="MAPS",
        grade=SourceGrade.SPONSOR,
    )
    for jurisdiction in (us, au, de):
        jurisdiction.covers_substances = ["MDMA", "Psilocybin"]
        jurisdiction.save()
    programme = AccessProgramme.objects.create(
        slug="de-psilocybin-compassionate-use",
        name="Psilocybin compassionate-use programme",
        jurisdiction=de,
        regulator=bfarm,
        kind=ProgrammeKind.COMPASSIONATE_USE,
        summary="A one-year programme at two sites.",
        opened_on=dt.date(2025, 7, 11),
        known_until=dt.date(2026, 7, 11),
        state=ProgrammeState.OPEN,
        eligibility="Adults with TRD.",
        prescriber_requirements="Psychiatrists at the two sites.",
        capacity="About 50 patients a year",
    )
    programme.therapies.set([psilo])
    ProgrammeSource.objects.create(
        programme=programme,
        url="https://example.org/bfarm-list",
        title="BfArM list",
        publisher="BfArM",
        grade=SourceGrade.OFFICIAL,
        published_on=dt.date(2025, 7, 31),
    )
    de_programme = published_decision(
        jurisdiction=de,
        regulator=bfarm,
        kind=DecisionKind.ACCESS_PROGRAMME,
        therapies=[psilo],
        title="BfArM opens a compassionate-use programme for psilocybin",
        announced_on=dt.date(2025, 7, 11),
        effective_on=dt.date(2025, 7, 11),
        access_programme=programme,
    )
    published_decision(
        jurisdiction=Jurisdiction.objects.get(code="ch"),
        regulator=None,
        kind=DecisionKind.GUIDANCE,
        therapies=[mdma, psilo],
        title="FOPH consults on tighter rules for limited medical use",
        announced_on=dt.date(2026, 3, 2),
        target_on=dt.date(2026, 10, 1),
        target_precision=Precision.MONTH,
    )
    if extra_decisions:
        decisions_add(extra_decisions)
    return Sample(scheduling, designation, acceptance, refusal, rescheduling, de_programme, programme)


def decisions_add(count: int) -> None:
    """More of everything the pages show: decisions in several jurisdictions
    and therapies, with targets ahead, sources, programmes and corrections."""
    from regulatory.models import ChangeKind
    from regulatory.services import decision_update

    mdma, psilo = Therapy.objects.get(slug="mdma-ptsd"), Therapy.objects.get(slug="psilocybin-trd")
    extra_therapy = TherapyFactory(slug=f"extra-therapy-{count}", name=f"Extra therapy {count}")
    extra_place = JurisdictionFactory(code=f"x{count}", name=f"Extra place {count}", position=9)
    programme = AccessProgramme.objects.create(
        slug=f"extra-programme-{count}",
        name=f"Extra programme {count}",
        jurisdiction=extra_place,
        kind=ProgrammeKind.SPECIAL_ACCESS,
        summary="More data.",
        state=ProgrammeState.PLANNED,
    )
    programme.therapies.set([mdma, extra_therapy])
    ProgrammeSource.objects.create(
        programme=programme,
        url=f"https://example.org/extra/{count}",
        title="Notice",
        publisher="Ministry",
        grade=SourceGrade.SECONDARY,
    )
    places = list(Jurisdiction.objects.all())
    for n in range(count):
        decision = published_decision(
            jurisdiction=places[n % len(places)],
            therapies=[mdma, psilo, extra_therapy],
            kind=DecisionKind.GUIDANCE if n % 3 else DecisionKind.TRIAL_RESULT,
            title=f"Extra decision {n}",
            announced_on=dt.date(2019, 1 + n % 12, 1 + n % 28),
            target_on=dt.date(2027, 1, 1) if n % 4 == 0 else None,
            status="investigational" if n % 2 else "",
            access_programme=programme if n % 5 == 0 else None,
        )
        SourceFactory(decision=decision, grade=SourceGrade.SECONDARY)
        if n % 3 == 0:
            decision_update(
                decision=decision,
                data={"summary": f"Corrected summary {n}."},
                change_kind=ChangeKind.CORRECT,
                note="Summary corrected.",
            )
