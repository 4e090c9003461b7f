"""Nothing a client can send answers 500: characters PostgreSQL refuses, lone
surrogates, deep or huge JSON, wrong content types, nulls the API itself
returns, dates out of range. Each gets a 4xx naming the field and changes
nothing."""

from __future__ import annotations

import datetime
import json

import pytest

from regulatory.models import Decision
from tests.factories import JurisdictionFactory, RegulatorFactory, TherapyFactory, published_decision

LIST = "/api/v1/decisions/"
pytestmark = pytest.mark.django_db

NUL = "\x00"
SURROGATE = "\\ud800"  # as JSON escapes it; Python's json makes a lone surrogate of it


@pytest.fixture
def payload() -> dict:
    us = JurisdictionFactory(code="us")
    RegulatorFactory(code="fda", jurisdiction=us)
    TherapyFactory(slug="mdma-ptsd")
    return {
        "jurisdiction": "us",
        "regulator": "fda",
        "therapies": ["mdma-ptsd"],
        "kind": "refusal",
        "title": "Complete response letter",
        "summary": "The FDA declined to approve the application.",
        "announced_on": "2024-08-09",
        "effective_on": "2024-08-09",
        "approval_stage": "not_approved",
        "sources": [
            {
                "url": "https://example.gov/letter",
                "title": "Letter",
                "publisher": "FDA",
                "published_on": "2024-08-09",
                "grade": "official",
            }
        ],
    }


def _post_raw(client, body: str, content_type: str = "application/json"):
    return client.generic("POST", LIST, body.encode("utf-8"), content_type=content_type)


@pytest.mark.parametrize(
    "field", ["title", "summary", "jurisdiction", "kind", "approval_stage", "announced_on", "verification_note", "note"]
)
def test_it_refuses_a_nul_byte_in_a_json_field_naming_it(alice_client, payload, field):
    payload[field] = "a" + NUL + "b"

    response = alice_client.post(LIST, payload, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not Decision.objects.exists()


def test_it_refuses_a_nul_byte_in_a_nested_source_naming_its_place(alice_client, payload):
    payload["sources"][0]["publisher"] = NUL

    response = alice_client.post(LIST, payload, format="json")

    assert response.status_code == 400
    assert "sources[0].publisher" in response.json()


def test_it_refuses_a_nul_byte_in_a_key(alice_client, payload):
    payload["ti" + NUL + "tle"] = "x"

    response = alice_client.post(LIST, payload, format="json")

    assert response.status_code == 400


def test_it_refuses_a_lone_surrogate_naming_the_field(alice_client, payload):
    body = json.dumps(payload).replace('"Letter"', f'"Let{SURROGATE}ter"')

    response = _post_raw(alice_client, body)

    assert response.status_code == 400
    assert "sources[0].title" in response.json()
    assert not Decision.objects.exists()


def test_it_refuses_a_nul_byte_in_a_form_body_naming_the_field(alice_client, payload):
    form = {**payload, "title": "a" + NUL, "sources": []}

    response = alice_client.post(LIST, form)  # multipart

    assert response.status_code == 400
    assert "title" in response.json()


def test_it_refuses_a_nul_byte_in_an_urlencoded_put(alice_client, payload):
    decision = published_decision()

    response = alice_client.generic(
        "PATCH",
        f"{LIST}{decision.pk}/",
        "title=a%00b&change_kind=amend&note=x",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 400
    assert "title" in response.json()


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/timeline/",
        "/programmes/",
        "/feeds/decisions.atom",
        "/feeds/upcoming.ics",
        "/exports/decisions.csv",
        "/api/v1/decisions/",
        "/api/v1/status/",
        "/subscribe/",
        "/admin/login/",
    ],
)
def test_it_refuses_a_nul_byte_in_any_query_parameter(client, path):
    response = client.get(path, {"jurisdiction": "us" + NUL})

    assert response.status_code == 400
    assert b"jurisdiction" in response.content


@pytest.mark.parametrize(
    "query",
    [
        "therapy=%00",  # an escaped NUL in a value
        "%00therapy=x",  # in a name
        "therapy=a\x00b",  # a NUL byte as sent, unescaped
        "therapy=\xe9%00",  # behind a byte that is not ASCII
    ],
)
def test_it_refuses_a_nul_byte_however_the_query_string_carries_it(client, query):
    response = client.get("/timeline/", QUERY_STRING=query)

    assert response.status_code == 400
    assert b"cannot be stored" in response.content


def test_it_reads_escaped_surrogates_as_replacement_characters_not_as_a_refusal(client):
    """UTF-8 decoding replaces what it cannot decode, so an escaped surrogate
    never reaches a view as one (the check skips query strings that are
    ASCII and free of NUL for that reason)."""
    response = client.get("/search/", QUERY_STRING="q=%ED%A0%80")

    assert response.status_code == 200


def test_it_answers_json_to_the_api_and_a_page_to_a_browser(client):
    api = client.get("/api/v1/decisions/?kind=%00")
    page = client.get("/timeline/?therapy=%00")

    assert api.json() == {"kind": [api.json()["kind"][0]]}
    assert page["Content-Type"].startswith("text/html")
    assert b"therapy" in page.content


def test_it_refuses_a_nul_byte_in_the_session_cookie(client):
    client.cookies["sessionid"] = "abcdefgh" + NUL

    assert client.get("/").status_code == 400


def test_it_refuses_json_nested_too_deep(alice_client):
    response = _post_raw(alice_client, "[" * 100_000 + "]" * 100_000)

    assert response.status_code == 400


def test_it_refuses_json_nested_deeper_than_the_limit_naming_the_place(alice_client, payload):
    deep: list = []
    for _ in range(40):
        deep = [deep]
    payload["sources"] = deep

    response = alice_client.post(LIST, payload, format="json")

    assert response.status_code == 400
    assert any(key.startswith("sources") for key in response.json())


def test_it_refuses_a_json_body_over_the_upload_limit_with_413(alice_client, payload, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    payload["summary"] = "x" * 20_000

    response = alice_client.post(LIST, payload, format="json")

    assert response.status_code == 413
    assert "body" in response.json()
    assert not Decision.objects.exists()


def test_it_refuses_a_form_body_over_the_upload_limit(alice_client, payload, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000

    response = alice_client.generic(
        "POST", LIST, "summary=" + "x" * 20_000, content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 413
    assert "body" in response.json()


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "image/png", "application/x-foo"])
def test_it_refuses_a_content_type_it_cannot_read_with_415(alice_client, content_type):
    response = _post_raw(alice_client, "<decision/>", content_type)

    assert response.status_code == 415


def test_it_refuses_nan_in_json(alice_client, payload):
    body = json.dumps(payload).replace('"Letter"', "NaN")

    assert _post_raw(alice_client, body).status_code == 400


# --- nulls the API returns, dates out of range ------------------------------------------


@pytest.mark.parametrize(
    "field", ["approval_stage", "control", "regulator", "effective_on", "target_on", "access_programme"]
)
def test_it_accepts_null_wherever_the_api_returns_it(alice_client, payload, field):
    if field == "effective_on":
        payload["approval_stage"] = None  # an approval stage needs an effective date
    payload[field] = None

    response = alice_client.post(LIST, payload, format="json")

    assert response.status_code == 201, response.content
    assert response.json()[field] is None


def test_it_accepts_a_decision_sent_back_as_the_api_returned_it(alice_client, payload):
    payload["approval_stage"] = None
    created = alice_client.post(LIST, payload, format="json").json()

    response = alice_client.put(f"{LIST}{created['id']}/", created, format="json")

    assert response.status_code == 200, response.content


@pytest.mark.parametrize("null_field", ["announced_precision", "published_precision"])
def test_it_refuses_null_where_the_api_never_returns_it_naming_the_field(alice_client, payload, null_field):
    if null_field == "published_precision":
        payload["sources"][0][null_field] = None
    else:
        payload[null_field] = None

    response = alice_client.post(LIST, payload, format="json")

    assert response.status_code == 400
    assert null_field in json.dumps(response.json())


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("announced_on", "9999-12-31"),
        ("announced_on", "1899-12-31"),
        ("effective_on", "9999-12-31"),
        ("target_on", "2201-01-01"),
        ("announced_on", "0001-01-01"),
    ],
)
def test_it_refuses_a_date_out_of_range_naming_the_field(alice_client, payload, field, value):
    payload.update(effective_on=None, approval_stage=None)
    payload[field] = value

    response = alice_client.post(LIST, payload, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not Decision.objects.exists()


def test_it_refuses_a_source_date_out_of_range(alice_client, payload):
    payload["sources"][0]["published_on"] = "9999-12-31"

    response = alice_client.post(LIST, payload, format="json")

    assert response.status_code == 400
    assert "sources" in response.json()


def test_it_accepts_the_ends_of_the_range(alice_client, payload):
    payload.update(announced_on="1900-01-01", effective_on="2200-12-31", target_on="2200-12-31")

    assert alice_client.post(LIST, payload, format="json").status_code == 201


# --- the admin ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "announced_on__year=9999&announced_on__month=12",
        "announced_on__year=99999999999999999999",
        "announced_on__year=2024&announced_on__month=99999999999999999999999",
        "announced_on__year=%00",
        "announced_on__year=-1",
    ],
)
def test_it_refuses_an_admin_date_filter_out_of_range_naming_it(client, alice, query):
    client.force_login(alice)

    response = client.get(f"/admin/regulatory/decision/?{query}")

    assert response.status_code == 400
    assert b"announced_on__" in response.content


def test_it_refuses_an_oversized_year_on_the_change_list(client, alice):
    client.force_login(alice)

    response = client.get("/admin/regulatory/change/?recorded_at__year=99999999999999999999")

    assert response.status_code == 400


def test_it_still_filters_the_admin_list_by_a_sane_date(client, alice):
    client.force_login(alice)

    assert client.get("/admin/regulatory/decision/?announced_on__year=2024&announced_on__month=8").status_code == 200


# --- dates already out of range in the database ------------------------------------------


def test_it_serves_the_calendar_with_a_far_future_date_already_stored(client):
    decision = published_decision()
    Decision.objects.filter(pk=decision.pk).update(target_on=datetime.date(9999, 12, 31))

    response = client.get("/feeds/upcoming.ics")

    assert response.status_code == 200
    assert b"DTSTART;VALUE=DATE:99991231" in response.content


@pytest.mark.parametrize("precision", ["day", "month", "year"])
def test_it_draws_the_timeline_with_a_far_future_date_already_stored(client, precision):
    decision = published_decision()
    Decision.objects.filter(pk=decision.pk).update(
        target_on=datetime.date(9999, 12, 1), target_precision=precision, effective_on=datetime.date(9999, 12, 31)
    )
    therapy = decision.therapies.get()

    for path in ("/timeline/", f"/timeline/?therapy={therapy.slug}", f"/decisions/{decision.pk}/", "/"):
        assert client.get(path).status_code == 200, path


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("announced_on", "9999-12-31"),
        ("effective_on", "9999-12-31"),
        ("target_on", "2201-01-01"),
        ("announced_on", "1899-12-31"),
        ("sources-0-published_on", "9999-12-31"),
    ],
)
def test_it_refuses_an_admin_date_out_of_range_naming_the_field(client, alice, field, value):
    from django.urls import reverse

    from tests.factories import DecisionFactory
    from tests.regulatory.test_admin import _form_data

    decision = DecisionFactory(announced_on=datetime.date(2024, 2, 9))
    client.force_login(alice)

    response = client.post(
        reverse("admin:regulatory_decision_change", args=[decision.pk]), _form_data(decision, **{field: value})
    )

    assert response.status_code == 200  # the form again, with the error
    assert b"Enter a date from 1900-01-01 to 2200-12-31." in response.content
    decision.refresh_from_db()
    assert decision.announced_on == datetime.date(2024, 2, 9)
    assert decision.effective_on is None and decision.target_on is None


def test_it_refuses_a_nul_byte_in_an_admin_form_naming_the_field(client, alice):
    from django.urls import reverse

    from tests.factories import DecisionFactory
    from tests.regulatory.test_admin import _form_data

    decision = DecisionFactory()
    client.force_login(alice)

    response = client.post(
        reverse("admin:regulatory_decision_change", args=[decision.pk]), _form_data(decision, title="A\x00B")
    )

    assert response.status_code == 400
    assert b"title" in response.content
    decision.refresh_from_db()
    assert "\x00" not in decision.title
