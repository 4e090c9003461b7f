"""The pages' query strings, read by Django forms (`regulatory.pages.parameters`):
the messages a 400 page shows, and which parameter it names first. No
database: the forms check against the therapies and jurisdictions given."""

from __future__ import annotations

import datetime as dt

import pytest
from django.http import QueryDict

from regulatory.models import Jurisdiction, Therapy
from regulatory.pages.parameters import BadParameter, MatrixForm, ProgrammeForm, TimelineForm

THERAPIES = [Therapy(slug="mdma-ptsd"), Therapy(slug="psilocybin-trd")]
JURISDICTIONS = [Jurisdiction(code="us"), Jurisdiction(code="au"), Jurisdiction(code="eu")]


def timeline(query: str, therapies=THERAPIES) -> dict:
    return TimelineForm(QueryDict(query), therapies=therapies, jurisdictions=JURISDICTIONS).parse()


def bad(parse, *args, **kwargs) -> tuple[str, str]:
    with pytest.raises(BadParameter) as caught:
        parse(*args, **kwargs)
    return caught.value.param, caught.value.message


def test_an_empty_query_string_means_every_default():
    data = timeline("")

    assert data == {"therapy": THERAPIES[0], "jurisdiction": [], "kind": "", "from": None, "to": None, "q": ""}


def test_it_reads_every_timeline_parameter():
    data = timeline("therapy=psilocybin-trd&jurisdiction=AU,us&kind=approval&from=2020&to=2024-02&q=+letter+")

    assert data == {
        "therapy": THERAPIES[1],
        "jurisdiction": ["au", "us"],
        "kind": "approval",
        "from": dt.date(2020, 1, 1),
        "to": dt.date(2024, 2, 29),
        "q": "letter",
    }


def test_repeated_and_comma_separated_jurisdictions_mean_the_same():
    assert timeline("jurisdiction=us&jurisdiction=au,us")["jurisdiction"] == ["us", "au"]


def test_the_first_therapy_stands_in_for_a_missing_default_unless_one_was_asked_for():
    others = [Therapy(slug="lsd-anxiety")]

    assert timeline("", therapies=others)["therapy"] is others[0]
    assert bad(timeline, "therapy=mdma-ptsd", therapies=others) == (
        "therapy",
        "there is no therapy “mdma-ptsd”. Known therapies: lsd-anxiety.",
    )
    assert bad(timeline, "", therapies=[]) == (
        "therapy",
        "there is no therapy “mdma-ptsd”. Known therapies: none recorded yet.",
    )


@pytest.mark.parametrize(
    ("query", "param", "message"),
    [
        ("therapy=lsd", "therapy", "there is no therapy “lsd”. Known therapies: mdma-ptsd, psilocybin-trd."),
        ("jurisdiction=us,xx", "jurisdiction", "unknown jurisdiction code xx. Known codes: au, eu, us."),
        ("jurisdiction=xx,yy", "jurisdiction", "unknown jurisdiction codes xx, yy. Known codes: au, eu, us."),
        ("kind=rumour", "kind", "there is no kind of decision “rumour”. Known kinds: "),
        ("from=abc", "from", "“abc” is not a date; use YYYY-MM-DD (or just YYYY or YYYY-MM)."),
        ("to=2024-02-30", "to", "“2024-02-30” is not a real calendar date."),
        ("to=2024-13", "to", "“2024-13” is not a real calendar date."),
        ("from=0001", "from", "“0001” is out of range; use a year from 1900 to 2200."),
        ("from=2024-05-01&to=2024-01-01", "from", "the start of the date range is after its end (to)."),
        ("q=" + "x" * 201, "q", "the search text is longer than 200 characters."),
    ],
)
def test_a_bad_timeline_parameter_is_named_with_what_is_wrong(query, param, message):
    named, said = bad(timeline, query)

    assert named == param
    assert said.startswith(message)


def test_the_first_parameter_at_fault_is_named_in_the_order_of_the_form():
    assert bad(timeline, "q=" + "x" * 201 + "&kind=rumour&therapy=lsd")[0] == "therapy"
    assert bad(timeline, "q=" + "x" * 201 + "&from=2024&to=2023")[0] == "from"
    assert bad(timeline, "to=nope&from=2024-05-01")[0] == "to"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("as_of=20240301", "“20240301” is not a date; use the form YYYY-MM-DD, for example 2024-03-01."),
        ("as_of=2024-02-30", "“2024-02-30” is not a real calendar date."),
        ("as_of=9999-12-31", "“9999-12-31” is out of range; use a year from 1900 to 2200."),
    ],
)
def test_the_matrix_date_must_be_a_full_real_date_in_range(query, message):
    assert bad(MatrixForm(QueryDict(query)).parse) == ("as_of", message)


def test_the_matrix_date_is_optional():
    assert MatrixForm(QueryDict("as_of=")).parse()["as_of"] is None
    assert MatrixForm(QueryDict("as_of=2024-03-01")).parse()["as_of"] == dt.date(2024, 3, 1)


def test_programme_parameters_are_checked():
    form = ProgrammeForm(QueryDict("jurisdiction=us&state=open"), jurisdictions=JURISDICTIONS)
    assert form.parse() == {"jurisdiction": ["us"], "state": "open"}

    param, message = bad(ProgrammeForm(QueryDict("state=ajar"), jurisdictions=JURISDICTIONS).parse)
    assert param == "state"
    assert message.startswith("“ajar” is not a programme state; use one of ")


# --- The matrix's filters (issue 10) ---------------------------------------------


def _matrix_params(query: str):
    from regulatory.pages.parameters import MatrixFilterForm, MatrixParams

    eu = Jurisdiction(pk=3, code="eu")
    places = [
        Jurisdiction(pk=1, code="us"),
        Jurisdiction(pk=2, code="au"),
        eu,
        Jurisdiction(pk=4, code="de", parent=eu),
    ]
    data = MatrixFilterForm(QueryDict(query), therapies=THERAPIES, jurisdictions=places).parse()
    record = data["recorded_as_of"]
    return MatrixParams(
        as_of=data["as_of"],
        recorded_as_of=record[0] if record else "",
        recorded_at=record[1] if record else None,
        therapies=THERAPIES,
        jurisdictions=places,
        therapy_slugs=data["therapy"],
        jurisdiction_codes=data["jurisdiction"],
        members=data["members"] != "0",
    )


def test_the_matrix_filters_default_to_everything():
    params = _matrix_params("")

    assert not params.filtering
    assert [j.code for j in params.jurisdictions_shown] == ["us", "au", "eu", "de"]
    assert params.scope_query() == {}
    assert params.view_query() == {}


def test_a_union_asked_for_brings_its_member_states_unless_members_is_off():
    assert [j.code for j in _matrix_params("jurisdiction=eu").jurisdictions_shown] == ["eu", "de"]
    assert [j.code for j in _matrix_params("jurisdiction=eu&members=0").jurisdictions_shown] == ["eu"]
    assert [j.code for j in _matrix_params("jurisdiction=de&members=0").jurisdictions_shown] == ["de"]
    assert _matrix_params("members=0").scope_query() == {"jurisdiction": "us,au,eu"}


def test_the_matrix_query_string_comes_back_in_one_order():
    params = _matrix_params("members=0&therapy=psilocybin-trd&jurisdiction=AU&as_of=2024-03-01")

    assert list(params.view_query().items()) == [
        ("as_of", "2024-03-01"),
        ("jurisdiction", "au"),
        ("therapy", "psilocybin-trd"),
        ("members", "0"),
    ]


def test_a_record_time_is_a_day_or_a_minute_in_utc():
    day = _matrix_params("recorded_as_of=2024-03-01")
    minute = _matrix_params("recorded_as_of=2024-03-01T09:30")

    assert day.recorded_as_of == "2024-03-01"
    assert day.recorded_at == dt.datetime(2024, 3, 1, 23, 59, 59, 999999, tzinfo=dt.UTC)
    assert minute.recorded_at == dt.datetime(2024, 3, 1, 9, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "query, param, message",
    [
        ("therapy=lsd", "therapy", "there is no therapy “lsd”. Known therapies: mdma-ptsd, psilocybin-trd."),
        ("members=yes", "members", "“yes” is not a choice; use members=1"),
        ("recorded_as_of=2024-03-01T9:30", "recorded_as_of", "“2024-03-01T9:30” is not a record time"),
        ("recorded_as_of=1899-12-31", "recorded_as_of", "out of range"),
    ],
)
def test_a_bad_matrix_filter_names_its_parameter(query, param, message):
    name, text = bad(_matrix_params, query)

    assert name == param
    assert message in text


def test_a_record_time_may_be_today_or_this_minute_but_not_later(settings):
    import time_machine

    with time_machine.travel(dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC), tick=False):
        assert _matrix_params("recorded_as_of=2026-06-01").recorded_as_of == "2026-06-01"
        assert _matrix_params("recorded_as_of=2026-06-01T12:00").recorded_as_of == "2026-06-01T12:00"
        assert bad(_matrix_params, "recorded_as_of=2026-06-01T12:01")[0] == "recorded_as_of"
        assert bad(_matrix_params, "recorded_as_of=2026-06-02")[0] == "recorded_as_of"
