import datetime as dt

import pytest
from django.core.management import CommandError, call_command

from regulatory.loader import DatasetError, history_load
from regulatory.models import Change, ChangeKind, Decision, Precision
from regulatory.services import decision_update

pytestmark = pytest.mark.django_db

SMALL = """
jurisdictions:
  - {code: us, name: United States, position: 1}
  - {code: eu, name: European Union, position: 2}
  - {code: de, name: Germany, parent: eu, position: 3}
regulators:
  - {code: fda, name: US Food and Drug Administration, jurisdiction: us, website: "https://www.fda.gov"}
therapies:
  - {slug: mdma-ptsd, name: MDMA-assisted therapy for PTSD, substance: MDMA, indication: PTSD, position: 1}
programmes: []
decisions:
  - key: US-10
    jurisdiction: us
    regulator: fda
    therapies: [mdma-ptsd]
    kind: designation
    title: FDA grants Breakthrough Therapy designation
    summary: The FDA designated MDMA-assisted therapy for PTSD a breakthrough therapy.
    announced: "2017-08"
    effective: null
    target: null
    approval_stage: null
    sources:
      - {url: "https://example.org/btd", title: BTD announcement, publisher: MAPS, published: "2017-08-26", grade: sponsor}
  - key: US-18
    jurisdiction: us
    regulator: fda
    therapies: [mdma-ptsd]
    kind: acceptance
    title: FDA accepts the NDA
    summary: Priority review.
    announced: "2024-02-09"
    effective: "2024-02-09"
    target: "2024-08-11"
    approval_stage: under_review
    sources:
      - {url: "https://example.org/nda", title: NDA accepted, publisher: MAPS, grade: sponsor}
"""


@pytest.fixture
def small_file(tmp_path):
    path = tmp_path / "history.yaml"
    path.write_text(SMALL)
    return path


def test_it_loads_decisions_published_with_their_sources(small_file):
    report = history_load(small_file)

    assert report.created == 2
    nda = Decision.objects.get(dataset_key="US-18")
    assert nda.is_live
    assert nda.sources.get().url == "https://example.org/nda"
    assert nda.changes.get().is_import is True


def test_it_keeps_the_precision_of_a_month_only_date(small_file):
    history_load(small_file)

    btd = Decision.objects.get(dataset_key="US-10")
    assert btd.announced_precision == Precision.MONTH
    assert btd.announced_display == "Aug 2017"


def test_it_changes_nothing_when_run_twice(small_file):
    history_load(small_file)
    changes = Change.objects.count()

    report = history_load(small_file)

    assert (report.created, report.updated, report.unchanged) == (0, 0, 2)
    assert Change.objects.count() == changes


def test_it_never_overwrites_a_field_an_editor_changed(small_file, alice):
    history_load(small_file)
    nda = Decision.objects.get(dataset_key="US-18")
    decision_update(
        decision=nda,
        by=alice,
        data={"title": "Editor's better title"},
        change_kind=ChangeKind.CORRECT,
        note="Clearer title.",
    )
    small_file.write_text(
        SMALL.replace("title: FDA accepts the NDA", "title: Dataset's new title").replace(
            "summary: Priority review.", "summary: Priority review was granted."
        )
    )

    report = history_load(small_file)

    nda.refresh_from_db()
    assert nda.title == "Editor's better title"
    assert nda.summary == "Priority review was granted."
    assert "decision US-18.title" in report.kept_editor_values


def test_it_rejects_a_fact_without_a_source_naming_the_row(small_file):
    small_file.write_text(
        SMALL.replace(
            '      - {url: "https://example.org/nda", title: NDA accepted, publisher: MAPS, grade: sponsor}\n', ""
        ).replace("    sources:\n\n", "    sources: []\n")
    )

    with pytest.raises(DatasetError) as exc:
        history_load(small_file)

    assert "US-18" in str(exc.value)
    assert "source" in str(exc.value)
    assert Decision.objects.count() == 0


def test_it_rejects_a_malformed_date_naming_the_row(small_file):
    small_file.write_text(SMALL.replace('announced: "2024-02-09"', 'announced: "9 Feb 2024"'))

    with pytest.raises(DatasetError, match="US-18"):
        history_load(small_file)


def test_it_reports_bad_rows_from_the_command_without_loading_anything(small_file):
    small_file.write_text(SMALL.replace("kind: acceptance", "kind: approvalish"))

    with pytest.raises(CommandError, match="US-18"):
        call_command("load_regulatory_history", file=str(small_file))

    assert Decision.objects.count() == 0


def test_it_places_member_states_under_the_eu(small_file):
    history_load(small_file)

    from regulatory.models import Jurisdiction

    assert Jurisdiction.objects.get(code="de").parent.code == "eu"


def test_it_keeps_a_retraction_when_the_dataset_row_changes(small_file):
    from regulatory.services import decision_retract

    history_load(small_file)
    nda = Decision.objects.get(dataset_key="US-18")
    decision_retract(decision=nda, note="Entered twice.")
    small_file.write_text(SMALL.replace("summary: Priority review.", "summary: Priority review was granted."))

    report = history_load(small_file)

    nda.refresh_from_db()
    assert nda.state == "retracted"
    assert nda.summary == "Priority review."
    assert "decision US-18.state" in report.kept_editor_values


# --- the three dimensions, baselines, coverage and review dates ----------------------

RECORD = """
dataset: {version: "2026.12-test", researched: "2026-12-01"}
jurisdictions:
  - {code: us, name: United States, position: 1, reviewed_to: "2026-07-31", covers: {substances: [Psilocybin]}}
  - {code: us-nm, name: New Mexico, parent: us, position: 2, covers: {therapies: [psilocybin-trd]}}
  - {code: gb, name: United Kingdom, position: 3}
regulators:
  - {code: dea, name: US Drug Enforcement Administration, jurisdiction: us}
therapies:
  - {slug: psilocybin-trd, name: Psilocybin for TRD, substance: Psilocybin, indication: TRD, position: 1}
  - {slug: psilocybin-eol, name: Psilocybin for end-of-life distress, substance: Psilocybin, indication: EOL, position: 2}
programmes:
  - key: AP-NM-1
    slug: nm-medical-psilocybin
    name: New Mexico Medical Psilocybin Program
    jurisdiction: us-nm
    kind: state_medical_programme
    substance: Psilocybin
    summary: State programme.
    opened: "2027-12"
    known_until: null
    state: planned
    capped: false
    researched: "2026-11-30"
    sources:
      - {url: "https://example.org/nm", title: SB 219, publisher: NatLawReview, grade: secondary}
baselines:
  - key: BL-GB-PSILOCYBIN
    jurisdiction: gb
    substance: psilocybin
    control: prohibited
    instrument: "Class A, Misuse of Drugs Act 1971"
    since: "1973-07-01"
    sources:
      - {url: "https://hansard.example/2006", title: Psilocin/Psilocybin, publisher: Hansard, grade: official}
  - key: BL-US-PSILOCYBIN
    jurisdiction: us
    substance: Psilocybin
    control: prohibited
    instrument: "Schedule I, Controlled Substances Act"
    since: null
    sources:
      - {url: "https://example.org/csa", title: CSA, publisher: Mind Medicine Law, grade: secondary}
decisions:
  - key: US-32
    jurisdiction: us
    regulator: dea
    substance: Psilocybin
    kind: scheduling
    title: Psilocybin in Schedule I
    summary: The CSA lists psilocybin in Schedule I.
    announced: "1970-10-27"
    effective: "1971-05-01"
    control: prohibited
    instrument: "Schedule I, Controlled Substances Act"
    sources:
      - {url: "https://fr.example/ocr", title: CSA text, publisher: archive.example, grade: official, copy_of: "https://www.govinfo.gov/csa"}
      - {url: "https://journal.example/p", title: A review, publisher: A Journal, grade: literature, copy_of: null}
"""


@pytest.fixture
def record_file(tmp_path):
    path = tmp_path / "record.yaml"
    path.write_text(RECORD)
    return path


def _rejects(path, text: str, *fragments: str) -> None:
    path.write_text(text)
    with pytest.raises(DatasetError) as exc:
        history_load(path)
    for fragment in fragments:
        assert fragment in str(exc.value)
    assert Decision.objects.count() == 0


def test_it_loads_a_substance_decision_for_every_therapy_with_the_substance(record_file):
    history_load(record_file)

    csa = Decision.objects.get(dataset_key="US-32")
    assert csa.substance == "Psilocybin"
    assert sorted(t.slug for t in csa.therapies.all()) == ["psilocybin-eol", "psilocybin-trd"]
    assert (csa.control, csa.control_instrument) == ("prohibited", "Schedule I, Controlled Substances Act")
    assert csa.researched_on == dt.date(2026, 12, 1)  # the dataset's default


def test_it_records_copies_and_literature_among_the_sources(record_file):
    history_load(record_file)

    sources = {s.url: s for s in Decision.objects.get(dataset_key="US-32").sources.all()}
    assert sources["https://fr.example/ocr"].is_copy is True
    assert sources["https://fr.example/ocr"].original_url == "https://www.govinfo.gov/csa"
    assert sources["https://journal.example/p"].grade == "literature"
    assert sources["https://journal.example/p"].is_copy is False


def test_it_loads_baselines_and_dates_an_unknown_start_by_the_first_recorded_event(record_file):
    from regulatory.models import ControlBaseline

    history_load(record_file)

    uk = ControlBaseline.objects.get(dataset_key="BL-GB-PSILOCYBIN")
    assert (uk.control, uk.since_on, uk.sources.get().grade) == ("prohibited", dt.date(1973, 7, 1), "official")
    us = ControlBaseline.objects.get(dataset_key="BL-US-PSILOCYBIN")
    assert us.since_on is None
    assert us.known_before == dt.date(1970, 10, 27)
    assert us.since_display == "in force before 27 Oct 1970"


def test_it_rejects_a_baseline_without_a_source_naming_the_row(record_file):
    text = RECORD.replace(
        '      - {url: "https://hansard.example/2006", title: Psilocin/Psilocybin, publisher: Hansard, grade: official}\n',
        "",
    ).replace('    since: "1973-07-01"\n    sources:\n', '    since: "1973-07-01"\n    sources: []\n')

    _rejects(record_file, text, "BL-GB-PSILOCYBIN", "source")


def test_it_rejects_a_control_without_an_instrument_naming_the_row(record_file):
    text = RECORD.replace(
        '    control: prohibited\n    instrument: "Schedule I, Controlled Substances Act"\n    sources:\n      - {url: "https://fr',
        '    control: prohibited\n    sources:\n      - {url: "https://fr',
    )

    _rejects(record_file, text, "US-32", "instrument")


def test_it_rejects_the_former_single_status(record_file):
    _rejects(
        record_file,
        RECORD.replace(
            '    control: prohibited\n    instrument: "Schedule I, Controlled Substances Act"\n    sources:\n      - {url: "https://fr',
            '    status: prohibited\n    sources:\n      - {url: "https://fr',
        ),
        "US-32",
        "status",
    )


def test_it_rejects_a_programme_closing_before_it_opens(record_file):
    _rejects(record_file, RECORD.replace("    known_until: null", '    closed: "2027-01-01"'), "AP-NM-1", "closed")


def test_it_rejects_a_review_date_in_the_future(record_file):
    _rejects(
        record_file,
        RECORD.replace('reviewed_to: "2026-07-31"', 'reviewed_to: "2999-01-01"'),
        "jurisdiction us",
        "future",
    )


def test_it_records_coverage_review_dates_and_the_dataset_version(record_file):
    from regulatory.models import DatasetRelease, Jurisdiction, JurisdictionReview

    report = history_load(record_file)

    us = Jurisdiction.objects.get(code="us")
    assert us.reviewed_to == dt.date(2026, 7, 31)
    assert us.covers_substances == ["Psilocybin"]
    review = JurisdictionReview.objects.get(jurisdiction=us)
    assert (review.from_dataset, review.recorded_by) == (True, None)
    nm = Jurisdiction.objects.get(code="us-nm")
    assert nm.parent == us
    assert [t.slug for t in nm.covers_therapies.all()] == ["psilocybin-trd"]
    assert DatasetRelease.objects.get().version == "2026.12-test"
    assert "2026.12-test" in str(report)


def test_it_changes_nothing_when_the_record_is_loaded_twice(record_file):
    from regulatory.models import JurisdictionReview

    history_load(record_file)
    changes, reviews = Change.objects.count(), JurisdictionReview.objects.count()

    report = history_load(record_file)

    assert report.created == report.updated == 0
    assert (Change.objects.count(), JurisdictionReview.objects.count()) == (changes, reviews)


def test_it_loads_a_programme_for_a_substance_with_its_interval_fields(record_file):
    from regulatory.models import AccessProgramme

    history_load(record_file)

    nm = AccessProgramme.objects.get(dataset_key="AP-NM-1")
    assert (nm.substance, nm.kind, nm.opened_precision, nm.capped) == (
        "Psilocybin",
        "state_medical_programme",
        "month",
        False,
    )
    assert nm.researched_on == dt.date(2026, 11, 30)
