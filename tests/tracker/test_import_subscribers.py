"""`manage.py import_subscribers FILE.csv`."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from tests.factories import JurisdictionFactory, TherapyFactory, published_decision
from tests.tracker.factories import subscriber_with
from tracker import services
from tracker.models import Cadence, Subscriber, Subscription
from tracker.selectors import change_latest_id

pytestmark = pytest.mark.django_db

HEADER = "email,cadence,jurisdictions,therapies,kinds\n"


@pytest.fixture
def scope(db):
    JurisdictionFactory(code="us")
    JurisdictionFactory(code="au")
    TherapyFactory(slug="mdma-ptsd")


def _import(tmp_path, text: str, capsys) -> tuple[str, str]:
    path = tmp_path / "subscribers.csv"
    path.write_text(text)
    call_command("import_subscribers", str(path))
    captured = capsys.readouterr()
    return captured.out, captured.err


def test_it_imports_rows_as_confirmed_subscribers(tmp_path, capsys, scope):
    published_decision()
    out, _ = _import(
        tmp_path,
        HEADER + "carol@example.org,daily,us au,mdma-ptsd,approval refusal\ndave@example.org,instant,,,\n",
        capsys,
    )

    carol = Subscriber.objects.get(email="carol@example.org")
    subscription = carol.subscriptions.get()
    assert carol.is_active
    assert subscription.cadence == Cadence.DAILY
    assert sorted(j.code for j in subscription.jurisdictions.all()) == ["au", "us"]
    assert subscription.kinds == ["approval", "refusal"]
    assert subscription.starts_after_change_id == change_latest_id() > 0
    dave = Subscriber.objects.get(email="dave@example.org").subscriptions.get()
    assert not dave.jurisdictions.exists() and not dave.kinds
    assert "2 subscription(s) imported (2 new subscriber(s))" in out


def test_it_is_idempotent(tmp_path, capsys, scope):
    text = HEADER + "carol@example.org,daily,us,,\ndave@example.org,instant,,,\n"
    _import(tmp_path, text, capsys)

    out, _ = _import(tmp_path, text, capsys)

    assert Subscription.objects.count() == 2
    assert "0 subscription(s) imported" in out and "2 already present" in out


def test_it_reports_rejected_rows_with_line_and_reason(tmp_path, capsys, scope):
    _, err = _import(
        tmp_path,
        HEADER + "not-an-address,daily,,,\n"
        "carol@example.org,hourly,,,\n"
        "dave@example.org,daily,atlantis,,\n"
        "erin@example.org,daily,,,rumour\n"
        "frank@example.org,weekly,us,,\n",
        capsys,
    )

    assert "line 2: rejected: email: Enter a valid email address." in err
    assert "line 3: rejected: cadence:" in err
    assert "line 4: rejected: jurisdictions: Unknown jurisdiction code(s): atlantis." in err
    assert "line 5: rejected: kinds: Unknown kind(s): rumour" in err
    assert list(Subscriber.objects.values_list("email", flat=True)) == ["frank@example.org"]


def test_it_never_resubscribes_someone_who_unsubscribed(tmp_path, capsys, scope):
    carol = subscriber_with("carol@example.org")
    services.subscriber_unsubscribe(subscriber=carol)

    _, err = _import(tmp_path, HEADER + "Carol@Example.org,daily,,,\n", capsys)

    carol.refresh_from_db()
    assert "line 2: rejected:" in err and "unsubscribed" in err
    assert carol.unsubscribed_at is not None and not carol.subscriptions.exists()


def test_it_refuses_a_file_without_the_expected_columns(tmp_path):
    path = tmp_path / "subscribers.csv"
    path.write_text("address,frequency\ncarol@example.org,daily\n")

    with pytest.raises(CommandError, match="missing: email, cadence"):
        call_command("import_subscribers", str(path))


def test_it_refuses_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match="cannot be read"):
        call_command("import_subscribers", str(tmp_path / "nope.csv"))


def test_it_imports_the_normal_form_of_each_address_and_once_per_mailbox(tmp_path, capsys, scope):
    out, _ = _import(
        tmp_path,
        HEADER + "\uff43\uff41\uff52\uff4f\uff4c@EXAMPLE.org,daily,,,\n"
        "carol@example.org,daily,,,\n"
        "dave@b\u00fccher.de,weekly,,,\n",
        capsys,
    )

    assert sorted(Subscriber.objects.values_list("email", flat=True)) == ["carol@example.org", "dave@xn--bcher-kva.de"]
    assert "1 already present" in out


def test_it_rejects_a_row_whose_address_has_an_invisible_character(tmp_path, capsys, scope):
    _, err = _import(tmp_path, HEADER + "carol@example.org,daily,,,\ndave@exa\u00admple.org,daily,,,\n", capsys)

    assert (
        "line 3: rejected: email: The address contains an invisible or formatting character (U+00AD SOFT HYPHEN)" in err
    )
    assert list(Subscriber.objects.values_list("email", flat=True)) == ["carol@example.org"]
