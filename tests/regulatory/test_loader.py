import textwrap

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
    status: null
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
    status: under_review
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
    decision_update(decision=nda, by=alice, data={"title": "Editor's better title"}, change_kind=ChangeKind.CORRECT,
                    note="Clearer title.")
    small_file.write_text(SMALL.replace("title: FDA accepts the NDA", "title: Dataset's new title")
                          .replace("summary: Priority review.", "summary: Priority review was granted."))

    report = history_load(small_file)

    nda.refresh_from_db()
    assert nda.title == "Editor's better title"
    assert nda.summary == "Priority review was granted."
    assert "decision US-18.title" in report.kept_editor_values


def test_it_rejects_a_fact_without_a_source_naming_the_row(small_file):
    small_file.write_text(SMALL.replace(
        '      - {url: "https://example.org/nda", title: NDA accepted, publisher: MAPS, grade: sponsor}\n', ""
    ).replace("    sources:\n\n", "    sources: []\n"))

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
