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
