"""What alerts and digests say about the matrix and about time: the previous
and the new state of each cell a change moves, dates as precise as they are
known (as the pages write them), and a first digest that does not speak of
a last one."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail
from django.utils import timezone

from regulatory.models import DecisionKind, Precision
from regulatory.services import decision_update
from tests.factories import JurisdictionFactory, TherapyFactory, published_decision
from tests.tracker.factories import subscriber_with
from tracker import delivery, selectors
from tracker.models import Cadence

pytestmark = pytest.mark.django_db


def _html(message) -> str:
    return next(content for content, mimetype in message.alternatives if mimetype == "text/html")


def _instant(change) -> mail.EmailMultiAlternatives:
    ids = delivery.change_fan_out(change_id=change.pk).notification_ids
    delivery.notification_batch_send(notification_ids=ids)
    return mail.outbox[-1]


def _digest(cadence: str = Cadence.DAILY) -> None:
    ids = delivery.digest_plan(cadence=cadence)
    if ids:
        delivery.digest_batch_send(delivery_ids=ids)


@pytest.fixture
def au(db):
    return JurisdictionFactory(code="au", name="Australia")


@pytest.fixture
def mdma(db):
    return TherapyFactory(slug="mdma-ptsd", name="MDMA-assisted therapy for PTSD", substance="MDMA")


@pytest.fixture
def scheduled(au, mdma):
    """MDMA in Schedule 9 since 2020, recorded before anyone subscribed."""
    return published_decision(
        jurisdiction=au,
        therapies=[mdma],
        kind=DecisionKind.SCHEDULING,
        title="MDMA in Schedule 9",
        announced_on=dt.date(2020, 1, 1),
        control="prohibited",
        control_instrument="Schedule 9, Poisons Standard",
        effective_on=dt.date(2020, 1, 1),
    )


def _rescheduling(au, mdma, **kwargs):
    return published_decision(
        **{
            "jurisdiction": au,
            "therapies": [mdma],
            "kind": DecisionKind.SCHEDULING,
            "title": "TGA reschedules MDMA",
            "announced_on": timezone.localdate(),
            "control": "medical_use_permitted",
            "control_instrument": "Schedule 8, Poisons Standard",
            "effective_on": timezone.localdate() + dt.timedelta(days=30),
            **kwargs,
        }
    )


def test_an_alert_says_the_previous_and_the_new_state_of_the_cell_it_changes(au, mdma, scheduled):
    subscriber_with("carol@example.org")
    decision = _rescheduling(au, mdma)
    effective = decision.effective_display

    message = _instant(decision.changes.get())

    assert "In the matrix:" in message.body
    assert f"- Australia · MDMA-assisted therapy for PTSD: Schedule 9 -> Schedule 8 (from {effective})" in message.body
    html = _html(message)
    assert "<del>Schedule 9</del>" in html
    assert f'→ Schedule 8 <span style="color:#4a5868;">(from {effective})</span>' in html


def test_an_alert_about_a_decision_that_moves_no_cell_says_nothing_of_the_matrix(au, mdma, scheduled):
    subscriber_with("carol@example.org")
    news = published_decision(
        jurisdiction=au, therapies=[mdma], kind=DecisionKind.GUIDANCE, announced_on=timezone.localdate()
    )

    message = _instant(news.changes.get())

    assert "In the matrix" not in message.body
    assert "In the matrix" not in _html(message)


def test_a_correction_of_the_effective_date_says_the_cell_from_the_new_date(au, mdma, scheduled):
    decision = _rescheduling(au, mdma)
    subscriber_with("carol@example.org")
    new_date = timezone.localdate() + dt.timedelta(days=60)

    change = decision_update(
        decision=decision, data={"effective_on": new_date}, change_kind="correct", note="The date was wrong."
    )
    message = _instant(change)

    assert f"Schedule 9 -> Schedule 8 (from {new_date.day} {new_date:%b %Y})" in message.body


def test_alert_dates_follow_their_precision_as_the_pages_do(au, mdma, scheduled):
    subscriber_with("carol@example.org")
    target = published_decision(
        jurisdiction=au,
        therapies=[mdma],
        kind=DecisionKind.SUBMISSION,
        announced_on=timezone.localdate(),
        target_on=dt.date(2027, 2, 1),
        target_precision=Precision.MONTH,
        approval_stage="under_review",
        effective_on=dt.date(2027, 2, 1),
        effective_precision=Precision.MONTH,
    )

    message = _instant(target.changes.get())

    for body in (message.body, _html(message)):
        assert "target date Feb 2027" in body
        assert "2027-02-01" not in body
        assert "1 Feb 2027" not in body
    assert "(from Feb 2027)" in message.body


def test_the_first_digest_does_not_say_since_your_last_digest(au, mdma):
    subscriber_with("carol@example.org", cadence=Cadence.DAILY)
    published_decision(jurisdiction=au, therapies=[mdma], title="First news", announced_on=timezone.localdate())

    _digest()

    (first,) = mail.outbox
    for body in (first.body, _html(first)):
        assert "since your last digest" not in body
        assert "since you subscribed" in body
    assert first.body.startswith("Your first daily digest (")


def test_later_digests_say_since_your_last_digest(au, mdma):
    subscriber_with("carol@example.org", cadence=Cadence.DAILY)
    published_decision(jurisdiction=au, therapies=[mdma], announced_on=timezone.localdate())
    _digest()
    published_decision(jurisdiction=au, therapies=[mdma], announced_on=timezone.localdate())

    _digest()

    second = mail.outbox[-1]
    assert len(mail.outbox) == 2
    assert "since your last digest" in second.body
    assert "since your last digest" in _html(second)
    assert "first" not in second.body.splitlines()[0]


def test_a_digest_names_its_day_as_the_pages_write_dates(au, mdma):
    subscriber_with("carol@example.org", cadence=Cadence.DAILY)
    published_decision(jurisdiction=au, therapies=[mdma], announced_on=timezone.localdate())

    _digest()

    first_line = mail.outbox[0].body.splitlines()[0]
    assert re.search(r"\(\d{1,2} [A-Z][a-z]{2} \d{4}\)", first_line), first_line
    assert not re.search(r"\d{4}-\d{2}-\d{2}", first_line)


def test_a_digest_shows_the_cells_its_changes_move(au, mdma, scheduled):
    subscriber_with("carol@example.org", cadence=Cadence.DAILY)
    _rescheduling(au, mdma)

    _digest()

    assert "Schedule 9 -> Schedule 8" in mail.outbox[0].body


@pytest.mark.parametrize(
    "period, shown",
    [
        ("2026-12-02", "2 Dec 2026"),
        ("2026-W49", "week 49, 30 Nov – 6 Dec 2026"),
        ("2026-W50", "week 50, 7 – 13 Dec 2026"),
        ("2025-W01", "week 1, 30 Dec 2024 – 5 Jan 2025"),
        ("not-a-period", "not-a-period"),
    ],
)
def test_digest_periods_read_as_dates(period, shown):
    assert selectors.digest_period_display(period) == shown
