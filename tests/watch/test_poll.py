"""Polls of recorded responses from each service, served on loopback."""

from __future__ import annotations

import datetime as dt

import pytest

from regulatory.models import DecisionKind
from tests.factories import DecisionFactory, SourceFactory
from tests.watch.conftest import Reply, fixture_bytes
from watch.models import Candidate, WatchedSource
from watch.services import source_poll, sources_poll

JSON = {"Content-Type": "application/json; charset=utf-8"}
RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}
ATOM = {"Content-Type": "application/atom+xml; charset=utf-8"}
HTML = {"Content-Type": "text/html; charset=utf-8"}
FR_GUIDANCE = (
    "https://www.federalregister.gov/documents/2026/10/14/2026-20417/"
    "psychedelic-drugs-considerations-for-clinical-investigations-guidance-for-industry-availability"
)


def _fr(server, make_source, **reply):
    server.routes["/api/v1/documents.json"] = Reply(
        body=fixture_bytes("federal_register_documents.json"), headers=JSON, **reply
    )
    from regulatory.models import Jurisdiction

    return make_source(
        "Federal Register: psychedelic",
        "federal_register",
        "/api/v1/documents.json?conditions[term]=psychedelic&order=newest",
        jurisdiction=Jurisdiction.objects.get(code="us"),
    )


def _titles(report) -> list[str]:
    return sorted(c.title for c in report.created)


def test_it_proposes_matching_federal_register_documents(server, make_source, record):
    source = _fr(server, make_source, etag='"fr-v1"')

    report = source_poll(source=source)

    assert report.error == ""
    assert report.items == 4 and len(report.created) == 3 and report.unmatched == 1
    guidance = Candidate.objects.get(document_number="2026-20417")
    assert guidance.url == FR_GUIDANCE
    assert guidance.published_on == dt.date(2026, 10, 14)
    assert guidance.jurisdiction == record["us"]
    assert guidance.suggested_kind == DecisionKind.GUIDANCE
    assert sorted(t.slug for t in guidance.therapies.all()) == ["mdma-ptsd", "psilocybin-trd"]
    assert "psychedelic drugs" in guidance.excerpt
    scheduling = Candidate.objects.get(document_number="2026-20990")
    assert [t.slug for t in scheduling.therapies.all()] == ["mdma-ptsd"]  # through the alias midomafetamine
    assert scheduling.suggested_kind == DecisionKind.SCHEDULING


def test_it_ignores_items_matching_no_substance(server, make_source, record):
    source = _fr(server, make_source)

    source_poll(source=source)

    assert not Candidate.objects.filter(document_number="2026-21102").exists()


def test_a_second_poll_sends_the_etag_and_adds_nothing_on_304(server, make_source, record):
    source = _fr(server, make_source, etag='"fr-v1"')
    source_poll(source=source)
    source.refresh_from_db()
    assert source.etag == '"fr-v1"'

    report = source_poll(source=source)

    second = server.requests_to("/api/v1/documents.json?conditions[term]=psychedelic&order=newest")[1]
    assert second.headers["if-none-match"] == '"fr-v1"'
    assert report.outcome == "not modified" and report.created == []
    assert Candidate.objects.count() == 3


def test_a_second_poll_of_the_same_items_proposes_none_again(server, make_source, record):
    source = _fr(server, make_source)  # no validators: the body comes again in full
    source_poll(source=source)
    source.refresh_from_db()

    report = source_poll(source=source)

    assert report.created == [] and report.duplicates == 3
    assert Candidate.objects.count() == 3


def test_it_sends_if_modified_since_when_the_source_gave_last_modified(server, make_source, record):
    server.routes["/rss.xml"] = Reply(
        body=fixture_bytes("fda_press_releases.xml"), headers=RSS, last_modified="Fri, 24 Oct 2026 20:42:10 GMT"
    )
    source = make_source("FDA press releases", "feed", "/rss.xml", jurisdiction=record["us"], regulator=record["fda"])
    source_poll(source=source)
    source.refresh_from_db()

    report = source_poll(source=source)

    assert server.requests_to("/rss.xml")[1].headers["if-modified-since"] == "Fri, 24 Oct 2026 20:42:10 GMT"
    assert report.outcome == "not modified"


def test_an_item_a_decision_already_cites_is_not_proposed(server, make_source, record):
    decision = DecisionFactory(jurisdiction=record["us"], regulator=record["fda"], with_source=False)
    # Cited with another scheme and a trailing slash: still the same page.
    SourceFactory(decision=decision, url=FR_GUIDANCE.replace("https://", "http://") + "/")
    source = _fr(server, make_source)

    report = source_poll(source=source)

    assert report.cited == 1
    assert not Candidate.objects.filter(document_number="2026-20417").exists()
    assert Candidate.objects.count() == 2


def test_one_document_found_by_two_sources_is_one_candidate(server, make_source, record):
    fr = _fr(server, make_source)
    server.routes["/rss.xml"] = Reply(body=fixture_bytes("fda_press_releases.xml"), headers=RSS)
    fda = make_source("FDA press releases", "feed", "/rss.xml", jurisdiction=record["us"], regulator=record["fda"])

    reports = sources_poll(sources=[fr, fda])

    # The FDA item links the Federal Register document 2026-20417: a duplicate by document number.
    assert reports[1].duplicates == 1
    assert Candidate.objects.filter(document_number="2026-20417").count() == 1
    assert Candidate.objects.get(document_number="2026-20417").source == fr
    fda_only = Candidate.objects.get(source=fda)
    assert fda_only.url.endswith("fda-accepts-resubmitted-application-midomafetamine-ptsd")
    assert fda_only.suggested_kind == DecisionKind.ACCEPTANCE
    assert fda_only.published_on == dt.date(2026, 10, 20)


def test_it_reads_rss_and_atom_feeds(server, make_source, record):
    server.routes["/en/news.xml"] = Reply(body=fixture_bytes("ema_news.xml"), headers=RSS)
    server.routes["/search/news-and-communications.atom?keywords=MDMA"] = Reply(
        body=fixture_bytes("govuk_news.atom"), headers=ATOM
    )
    ema = make_source("EMA news", "feed", "/en/news.xml", jurisdiction=record["eu"], regulator=record["ema"])
    govuk = make_source(
        "GOV.UK news: MDMA", "feed", "/search/news-and-communications.atom?keywords=MDMA", jurisdiction=record["gb"]
    )

    ema_report, govuk_report = sources_poll(sources=[ema, govuk])

    assert _titles(ema_report) == ["EMA multi-stakeholder workshop on psychedelics: report published"]
    assert ema_report.unmatched == 1
    (acmd,) = govuk_report.created
    assert acmd.url == "https://www.gov.uk/government/news/acmd-advice-on-research-barriers-for-schedule-1-drugs"
    assert acmd.published_on == dt.date(2026, 10, 27)
    assert acmd.jurisdiction == record["gb"]
    assert sorted(t.slug for t in acmd.therapies.all()) == ["mdma-ptsd", "psilocybin-trd"]


def test_clinicaltrials_proposes_status_changes_results_and_new_studies_after_a_baseline(server, make_source, record):
    path = "/api/v2/studies?query.intr=MDMA&sort=LastUpdatePostDate:desc&pageSize=100"
    server.routes[path] = [
        Reply(body=fixture_bytes("clinicaltrials_studies_1.json"), headers=JSON),
        Reply(body=fixture_bytes("clinicaltrials_studies_2.json"), headers=JSON),
    ]
    source = make_source("ClinicalTrials.gov: MDMA", "clinicaltrials", path)

    baseline = source_poll(source=source)
    source.refresh_from_db()
    changes = source_poll(source=source)

    assert baseline.items == 0 and baseline.created == []
    assert sorted(source.state["studies"]) == ["NCT05400003", "NCT05900002", "NCT06300001"]
    by_study = {c.url.rsplit("/", 1)[1]: c for c in changes.created}
    assert sorted(by_study) == ["NCT05400003", "NCT06300001", "NCT07100004"]  # NCT05900002 did not change
    assert "overall status recruiting → active not recruiting" in by_study["NCT06300001"].title
    assert by_study["NCT05400003"].suggested_kind == DecisionKind.TRIAL_RESULT
    assert "results posted" in by_study["NCT05400003"].title
    assert "new study" in by_study["NCT07100004"].title
    assert [t.slug for t in by_study["NCT07100004"].therapies.all()] == ["psilocybin-trd"]
    assert by_study["NCT06300001"].published_on == dt.date(2026, 10, 20)


def test_a_page_change_proposes_the_lines_added(server, make_source, record):
    server.routes["/news/news"] = [
        Reply(body=fixture_bytes("agency_page_before.html"), headers=HTML),
        Reply(body=fixture_bytes("agency_page_after.html"), headers=HTML),
    ]
    source = make_source("TGA news (page)", "page", "/news/news", jurisdiction=record["au"], regulator=record["tga"])

    first = source_poll(source=source)
    source.refresh_from_db()
    second = source_poll(source=source)

    assert first.created == []
    assert "Recall reforms program update" in "\n".join(source.state["lines"])
    assert all("dataLayer" not in line and "Commonwealth" not in line for line in source.state["lines"])
    (change,) = second.created
    assert change.excerpt == "28 October 2026 Update on authorised prescribers of psilocybin and MDMA"
    assert change.url == server.url("/news/news")
    assert change.suggested_kind == DecisionKind.ACCESS_PROGRAMME
    assert change.jurisdiction == record["au"]


def test_a_page_changed_only_outside_its_main_text_proposes_nothing(server, make_source, record):
    before = fixture_bytes("agency_page_before.html")
    server.routes["/news/news"] = [
        Reply(body=before, headers=HTML),
        Reply(body=before.replace(b"Search psilocybin", b"Search MDMA"), headers=HTML),
    ]
    source = make_source("TGA news (page)", "page", "/news/news", jurisdiction=record["au"])
    source_poll(source=source)
    source.refresh_from_db()

    assert source_poll(source=source).created == []


def test_a_poll_sends_a_descriptive_user_agent(server, make_source, record, settings):
    source = _fr(server, make_source)

    source_poll(source=source)

    agent = server.seen[0].headers["user-agent"]
    assert agent == settings.WATCH_USER_AGENT and "RegulatoryTracker" in agent


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Midomafetamine-assisted therapy", ["mdma-ptsd"]),
        ("3,4-methylenedioxymethamphetamine (MDMA)", ["mdma-ptsd"]),
        ("COMP360 in TRD", ["psilocybin-trd"]),
        ("la psilocybine", ["psilocybin-trd"]),
        ("MDMAX and psilocybinoid are other words", []),
    ],
)
def test_substances_match_through_their_aliases(record, text, expected):
    from watch.matching import matcher_build

    assert [t.slug for t in matcher_build().match(text)] == expected


def test_a_source_can_be_polled_from_the_command_line(server, make_source, record):
    from io import StringIO

    from django.core.management import call_command

    _fr(server, make_source)
    out = StringIO()

    call_command("watch_sources", "--source", "Federal Register: psychedelic", stdout=out)

    assert "3 new candidate(s)" in out.getvalue()
    assert "+ Schedules of Controlled Substances: Placement of Midomafetamine in Schedule II" in out.getvalue()
    assert WatchedSource.objects.get().last_success_at is not None
