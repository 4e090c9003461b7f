"""/api/v1/status/changes/, /api/v1/status/history/ and record time on
/api/v1/status/, over the shipped dataset (regulatory/data/history.yaml)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from regulatory.models import Decision, Jurisdiction, Therapy
from regulatory.services import decision_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def shipped(dataset, db):
    from django.core.cache import cache

    cache.clear()
    return dataset


def _changes(client, **params) -> dict:
    response = client.get("/api/v1/status/changes/", params)
    assert response.status_code == 200, response.content
    return response.json()


def _changed(body: dict, jurisdiction: str, therapy: str) -> dict | None:
    return next((c for c in body["changed"] if (c["jurisdiction"], c["therapy"]) == (jurisdiction, therapy)), None)


def test_changes_between_30_june_and_1_july_2023_mark_australias_mdma_and_psilocybin_cells(anon_client, shipped):
    body = _changes(anon_client, **{"from": "2023-06-30", "to": "2023-07-01"})

    mdma, psilocybin = _changed(body, "au", "mdma-ptsd"), _changed(body, "au", "psilocybin-trd")
    assert mdma and psilocybin
    for cell in (mdma, psilocybin):
        control = next(c for c in cell["changes"] if c["dimension"] == "control")
        assert control["before"]["value"] == "prohibited"
        assert control["after"]["value"] == "medical_use_permitted"
        assert control["set_by"] and "decision" in control["set_by"][0]
        assert cell["status_before"] != cell["status_after"]
    rescheduling = [d for d in body["decisions"] if d["jurisdiction"] == "au" and d["effective_on"] == "2023-07-01"]
    assert rescheduling and rescheduling[0]["id"] == control["set_by"][0]["decision"]
    assert body["from"] == "2023-06-30" and body["to"] == "2023-07-01"
    assert {c["jurisdiction"] for c in body["changed"]} == {"au"}


def test_changes_over_no_time_are_empty(anon_client, shipped):
    body = _changes(anon_client, **{"from": "2023-07-01", "to": "2023-07-01"})

    assert body["changed"] == [] and body["decisions"] == [] and body["programme_changes"] == []


@pytest.mark.parametrize(
    "params, name",
    [
        ({"from": "2023-07-02", "to": "2023-07-01"}, "from"),
        ({"from": "1899-12-31", "to": "2023-07-01"}, "from"),
        ({"from": "2023-07-01", "to": "2201-01-01"}, "to"),
        ({"from": "2023-07-01"}, "to"),
        ({"from": "yesterday", "to": "2023-07-01"}, "from"),
        ({"from": "2023-06-30", "to": "2023-07-01", "jurisdiction": "xx"}, "jurisdiction"),
        ({"from": "2023-06-30", "to": "2023-07-01", "therapy": "lsd-everything"}, "therapy"),
        ({"from": "2023-06-30", "to": "2023-07-01", "recorded_as_of": "2000-01-01"}, "recorded_as_of"),
        ({"from": "2023-06-30", "to": "2023-07-01", "recorded_as_of": "2199-01-01"}, "recorded_as_of"),
        ({"from": "2023-06-30", "to": "2023-07-01", "recorded_as_of": "2301-01-01"}, "recorded_as_of"),
        ({"from": "2023-06-30", "to": "2023-07-01", "recorded_as_of": "2026-13-01"}, "recorded_as_of"),
        ({"from": "2023-06-30", "to": "2023-07-01", "since": "2023-01-01"}, "since"),
    ],
)
def test_changes_answer_400_naming_the_parameter(anon_client, shipped, params, name):
    response = anon_client.get("/api/v1/status/changes/", params)

    assert response.status_code == 400
    assert name in response.json()


# --- record time ---------------------------------------------------------------------


def _status(client, **params) -> dict:
    response = client.get("/api/v1/status/", params)
    assert response.status_code == 200, response.content
    return response.json()


def test_a_correction_recorded_today_leaves_the_status_recorded_as_of_yesterday_unchanged(anon_client, shipped):
    params = {"as_of": "2024-06-01", "jurisdiction": "au", "therapy": "mdma-ptsd"}
    loaded = timezone.localtime()
    with time_machine.travel(loaded + dt.timedelta(days=2), tick=False):
        yesterday = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
        before = _status(anon_client, **params, recorded_as_of=yesterday)["results"][0]
        # Today an editor corrects the rescheduling's instrument.
        rescheduling = Decision.objects.get(pk=before["control"]["decision"])
        decision_update(
            decision=rescheduling,
            data={"control_instrument": "Schedule 8, corrected wording", "verified": False},
            change_kind="correct",
            note="Wording corrected.",
        )
        now = _status(anon_client, **params)["results"][0]
        again = _status(anon_client, **params, recorded_as_of=yesterday)
        # The minute before the correction, with a time of day, is still the old record too.
        minute = (timezone.localtime() - dt.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M")
        at_minute = _status(anon_client, **params, recorded_as_of=minute)["results"][0]

    assert now["control"]["instrument"] == "Schedule 8, corrected wording"
    assert now["provenance"]["unverified"] is True
    assert again["results"][0] == before
    assert again["recorded_as_of"] is not None
    assert before["control"]["instrument"] != "Schedule 8, corrected wording"
    assert at_minute["control"] == before["control"]


def test_record_time_leaves_out_decisions_recorded_later(anon_client, shipped):
    from tests.factories import published_decision

    loaded = timezone.localtime()
    with time_machine.travel(loaded + dt.timedelta(days=2), tick=False):
        yesterday = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
        published_decision(
            jurisdiction=Jurisdiction.objects.get(code="ch"),
            therapies=[Therapy.objects.get(slug="mdma-ptsd")],
            status="approved",
            announced_on=dt.date(2026, 1, 5),
        )
        params = {"as_of": "2026-06-01", "jurisdiction": "ch", "therapy": "mdma-ptsd"}
        now = _status(anon_client, **params)["results"][0]
        then = _status(anon_client, **params, recorded_as_of=yesterday)["results"][0]

    assert now["approval_stage"]["value"] == "approved"
    assert (then["approval_stage"] or {}).get("value") != "approved"


@pytest.mark.parametrize(
    "value", ["1999-01-01", "2999-01-01", "2026-02-30", "2026-01-01T25:00", "soon", "2026-01-01\x00", "9" * 1000]
)
def test_status_answers_400_for_a_bad_record_time(anon_client, shipped, value):
    response = anon_client.get("/api/v1/status/", {"recorded_as_of": value})

    assert response.status_code == 400
    assert "recorded_as_of" in response.json()


# --- status history ------------------------------------------------------------------


def test_status_history_of_us_mdma_for_ptsd_lists_the_intervals_in_order(anon_client, shipped):
    response = anon_client.get("/api/v1/status/history/", {"jurisdiction": "us", "therapy": "mdma-ptsd"})
    assert response.status_code == 200, response.content
    body = response.json()

    stages = [i["value"]["value"] for i in body["approval_stage"]]
    assert stages.index("investigational") < stages.index("under_review") < stages.index("not_approved")
    for dimension in ("control", "approval_stage", "access"):
        intervals = body[dimension]
        assert intervals, dimension
        starts = [i["from"] for i in intervals if i["from"]]
        assert starts == sorted(starts), dimension
        for earlier, later in zip(intervals, intervals[1:], strict=False):
            assert earlier["to"] == later["from"], dimension
        assert intervals[-1]["to"] is None
    assert body["control"][0]["value"]["value"] == "prohibited"
    assert all("decision" in i["opened_by"] for i in body["approval_stage"])
    (route,) = {r["programme"] for i in body["access"] for r in i["value"]}
    assert route
    assert body["access"][0]["opened_by"]["programmes"] == [route]


@pytest.mark.parametrize(
    "params, name",
    [
        ({"therapy": "mdma-ptsd"}, "jurisdiction"),
        ({"jurisdiction": "us"}, "therapy"),
        ({"jurisdiction": "atlantis", "therapy": "mdma-ptsd"}, "jurisdiction"),
        ({"jurisdiction": "us", "therapy": "x" * 1000}, "therapy"),
        ({"jurisdiction": "us", "therapy": "mdma-ptsd", "as_of": "2024-01-01"}, "as_of"),
        ({"jurisdiction": "us\x00", "therapy": "mdma-ptsd"}, "jurisdiction"),
    ],
)
def test_status_history_answers_400_naming_the_parameter(anon_client, shipped, params, name):
    response = anon_client.get("/api/v1/status/history/", params)

    assert response.status_code == 400
    assert name in response.json()
