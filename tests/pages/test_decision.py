"""One decision's page at /decisions/<id>/."""

from __future__ import annotations

import datetime as dt
import re

from regulatory.models import ChangeKind, DecisionKind, Jurisdiction, Precision, SourceGrade, Therapy
from regulatory.services import decision_publish, decision_retract, decision_update
from tests.factories import DecisionFactory, published_decision

# The record version (the validators), then the decision with its jurisdiction, regulator and
# programme; therapies; sources; changes; the dataset version (for "Cite this").
DECISION_QUERIES = 6


def page(client, decision) -> str:
    response = client.get(f"/decisions/{decision.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_it_shows_the_dates_kind_status_and_summary(client, sample):
    html = page(client, sample.us_acceptance)

    assert "FDA accepts the NDA with priority review" in html
    assert '<dd><time datetime="2024-02-09">9 Feb 2024</time></dd>' in html
    assert '<dt>Target date</dt><dd><time datetime="2024-08-11">11 Aug 2024</time></dd>' in html
    assert "<dd>Acceptance for review</dd>" in html
    assert '<span class="status-badge tone--review">Under review</span>' in html
    assert "What the regulator decided, in two sentences." in html


def test_it_shows_imported_history_as_researched_not_as_recorded_at_load_time(client, sample):
    from regulatory.services import decision_publish
    from tests.factories import DecisionFactory

    imported = DecisionFactory(announced_on=sample.us_acceptance.announced_on, researched_on=dt.date(2026, 5, 1))
    decision_publish(decision=imported, is_import=True)

    html = page(client, imported)

    assert "from the historical dataset, researched 1 May 2026" in html
    # The history, not the "Cite this" box after it (which names the record time of the page).
    assert "recorded " not in html[html.index('id="history-heading"') : html.index('id="cite-heading"')]


def test_it_shows_what_a_decision_sets_in_each_dimension(client, sample):
    html = page(client, sample.us_scheduling)

    assert "Prohibited: Schedule I, Controlled Substances Act" in html


def test_it_shows_a_partial_date_with_its_precision(client, sample):
    html = page(client, sample.us_designation)

    assert '<time datetime="2017-08-01">Aug 2017</time>' in html
    assert "1 Aug 2017" not in html


def test_it_lists_the_sources_with_their_grades(client, sample):
    html = page(client, sample.us_refusal)

    sources = html[html.index('id="sources-heading"') : html.index('id="history-heading"')]
    assert sources.count('<li class="source">') == 2
    assert '<span class="grade-badge grade--sponsor">Sponsor statement</span>' in sources
    assert '<span class="grade-badge grade--official">Official document</span>' in sources
    assert 'href="https://example.org/lykos-crl"' in sources
    assert "Lykos Therapeutics" in sources


def test_it_links_the_related_access_programme(client, sample):
    html = page(client, sample.de_programme)

    assert 'href="/programmes/#programme-de-psilocybin-compassionate-use"' in html
    assert "Psilocybin compassionate-use programme" in html


def test_it_shows_a_correction_with_its_note_and_field_diff(client, sample, alice):
    decision_update(
        decision=sample.us_acceptance,
        by=alice,
        change_kind=ChangeKind.CORRECT,
        data={"target_on": dt.date(2024, 8, 11), "target_precision": Precision.MONTH, "title": "FDA accepts the NDA"},
        note="The letter gives only the month.",
    )

    html = page(client, sample.us_acceptance)

    history = html[html.index('id="history-heading"') :]
    assert '<span class="history-item__kind">Correction</span>' in history
    assert "The letter gives only the month." in history
    assert (
        '<th scope="row">Title</th><td class="diff__before"><del>FDA accepts the NDA with priority review</del>'
        in history
    )
    assert (
        '<th scope="row">Target date precision</th><td class="diff__before"><del>Day</del></td><td class="diff__after"><ins>Month</ins>'
        in history
    )
    assert "by an editor" in history
    assert '<span class="tag tag--corrected">Corrected</span>' in html


def test_it_never_names_the_editor_to_the_public(client, sample, alice, bob):
    decision_update(
        decision=sample.us_acceptance,
        by=alice,
        change_kind=ChangeKind.CORRECT,
        data={"title": "FDA accepts the NDA"},
        note="Shorter title.",
    )

    anonymous = page(client, sample.us_acceptance)
    client.force_login(bob)
    signed_in = page(client, sample.us_acceptance)

    for html in (anonymous, signed_in):
        assert "alice" not in html
        assert "by an editor" in html


def test_it_names_the_editor_to_other_editors(client, sample, alice):
    decision_update(
        decision=sample.us_acceptance,
        by=alice,
        change_kind=ChangeKind.CORRECT,
        data={"title": "FDA accepts the NDA"},
        note="Shorter title.",
    )
    client.force_login(alice)

    assert "by alice" in page(client, sample.us_acceptance)


def test_it_shows_added_and_removed_sources_in_the_diff(client, sample):
    old_url = sample.us_acceptance.sources.get().url
    decision_update(
        decision=sample.us_acceptance,
        change_kind=ChangeKind.AMEND,
        note="Official letter.",
        sources=[
            {
                "url": "https://www.fda.gov/letter",
                "title": "Acceptance letter",
                "publisher": "FDA",
                "grade": SourceGrade.OFFICIAL,
            }
        ],
        data={},
    )

    history = page(client, sample.us_acceptance).split('id="history-heading"')[1]

    assert re.search(
        r"Source removed</th><td[^>]*><del>Regulator: Official notice \(Official document\) — " + re.escape(old_url),
        history,
    )
    assert "Source added</th>" in history and "FDA: Acceptance letter (Official document)" in history


def test_it_shows_a_banner_with_the_reason_for_a_retraction(client, sample):
    decision_retract(decision=sample.us_refusal, note="Recorded against the wrong application.")

    html = page(client, sample.us_refusal)

    assert '<div class="notice notice--retracted" role="alert">' in html
    assert "This decision was retracted" in html
    assert "<strong>Reason:</strong> Recorded against the wrong application." in html


def test_it_labels_a_late_reported_decision(client, sample, today):
    decision = published_decision(
        jurisdiction=Jurisdiction.objects.get(code="au"),
        therapies=[Therapy.objects.get(slug="mdma-ptsd")],
        kind=DecisionKind.GUIDANCE,
        title="TGA guidance for prescribers",
        announced_on=today - dt.timedelta(days=40),
    )

    html = page(client, decision)

    assert '<span class="tag tag--late"' in html
    assert f"Announced {decision.announced_display}; recorded here on 1 Jun 2026." in html


def test_it_does_not_label_a_decision_recorded_on_time(client, sample, today):
    decision = published_decision(
        jurisdiction=Jurisdiction.objects.get(code="au"),
        therapies=[Therapy.objects.get(slug="mdma-ptsd")],
        kind=DecisionKind.GUIDANCE,
        title="TGA guidance for prescribers",
        announced_on=today,
    )

    assert "tag--late" not in page(client, decision)


def test_it_answers_404_to_the_public_for_a_draft(client, sample):
    draft = DecisionFactory(title="Not yet checked")

    response = client.get(f"/decisions/{draft.pk}/")

    assert response.status_code == 404
    assert "Not yet checked" not in response.content.decode()


def test_it_answers_404_to_a_user_who_is_not_an_editor_for_a_draft(client, sample, bob):
    draft = DecisionFactory(title="Not yet checked")
    client.force_login(bob)

    assert client.get(f"/decisions/{draft.pk}/").status_code == 404


def test_it_shows_a_draft_to_an_editor(client, sample, alice):
    draft = DecisionFactory(title="Not yet checked")
    client.force_login(alice)

    html = page(client, draft)

    assert "Not yet checked" in html
    assert "Only editors can see this page" in html


def test_it_shows_a_decision_published_after_being_a_draft(client, sample):
    draft = DecisionFactory(title="Checked now")
    decision_publish(decision=draft)

    assert "Checked now" in page(client, draft)


def test_it_answers_a_friendly_404_for_an_unknown_number(client, sample):
    response = client.get("/decisions/999999/")

    assert response.status_code == 404
    html = response.content.decode()
    assert "There is nothing at this address" in html
    assert '<nav class="site-nav"' in html
    assert "Traceback" not in html


def test_it_runs_the_same_number_of_queries_whatever_the_size_of_the_history(client, sample, django_assert_num_queries):
    decision = sample.us_acceptance
    with django_assert_num_queries(DECISION_QUERIES):
        client.get(f"/decisions/{decision.pk}/")
    for n in range(8):
        decision_update(
            decision=decision,
            change_kind=ChangeKind.CORRECT,
            note=f"Correction {n}",
            data={"summary": f"Summary, version {n}."},
            sources=[
                {
                    "url": f"https://example.org/s/{n}/{i}",
                    "title": f"Source {i}",
                    "publisher": "P",
                    "grade": "secondary",
                }
                for i in range(n + 1)
            ],
        )

    with django_assert_num_queries(DECISION_QUERIES):
        response = client.get(f"/decisions/{decision.pk}/")

    assert response.content.decode().count('<li class="history-item') == 9


def test_it_answers_304_to_a_reader_who_has_the_current_page(client, sample):
    url = f"/decisions/{sample.us_acceptance.pk}/"
    first = client.get(url)

    again = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    since = client.get(url, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])

    assert first["ETag"] and first["Last-Modified"]
    assert "public" in first["Cache-Control"]
    assert (again.status_code, since.status_code) == (304, 304)


def test_it_answers_200_once_the_decision_changed(client, sample, alice):
    url = f"/decisions/{sample.us_acceptance.pk}/"
    first = client.get(url)
    decision_update(
        decision=sample.us_acceptance, by=alice, change_kind=ChangeKind.CORRECT, data={"title": "New"}, note="N."
    )

    again = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])

    assert again.status_code == 200
    assert again["ETag"] != first["ETag"]


def test_it_never_shares_a_kept_page_between_an_editor_and_the_public(response_cache, client, sample, alice):
    decision_update(
        decision=sample.us_acceptance,
        by=alice,
        change_kind=ChangeKind.CORRECT,
        data={"title": "FDA accepts the NDA"},
        note="Shorter title.",
    )
    url = f"/decisions/{sample.us_acceptance.pk}/"
    public = client.get(url)  # built and kept
    client.get(url)  # from the kept body

    client.force_login(alice)
    editor = client.get(url, HTTP_IF_NONE_MATCH=public["ETag"])
    client.logout()
    public_again = client.get(url)

    assert editor.status_code == 200  # never the public copy's 304
    assert "by alice" in editor.content.decode()
    assert "by alice" not in public.content.decode()
    assert public_again.content == public.content
    assert "ETag" not in editor or editor["ETag"] != public["ETag"]


def test_it_keeps_no_page_for_a_request_with_query_parameters(response_cache, client, sample):
    url = f"/decisions/{sample.us_acceptance.pk}/"

    first = client.get(url, {"utm_source": "mail"})
    second = client.get(url, {"utm_source": "other"})

    assert first.status_code == second.status_code == 200
    assert first["ETag"] != second["ETag"]
