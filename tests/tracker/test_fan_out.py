"""Fan-out: which subscribers a change reaches, once each, and only news."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from regulatory.models import ChangeKind, DecisionKind
from regulatory.services import decision_publish, decision_retract, decision_update
from tests.factories import DecisionFactory, JurisdictionFactory, TherapyFactory, published_decision
from tests.tracker.factories import pending_subscription, subscriber_with, subscription_of
from tracker import delivery, selectors, services
from tracker.models import Cadence, ChangeFanOut, Notification, Subscriber, Subscription

pytestmark = pytest.mark.django_db


@pytest.fixture
def us(db):
    return JurisdictionFactory(code="us", name="United States")


@pytest.fixture
def au(db):
    return JurisdictionFactory(code="au", name="Australia")


@pytest.fixture
def mdma(db):
    return TherapyFactory(slug="mdma-ptsd", name="MDMA-assisted therapy for PTSD")


def _fan_out_all(change_id: int) -> list[int]:
    ids: list[int] = []
    while True:
        step = delivery.change_fan_out(change_id=change_id)
        ids += step.notification_ids
        if not step.more:
            return ids


def _recipients(change_id: int) -> set[str]:
    return set(Notification.objects.filter(change_id=change_id).values_list("subscriber__email", flat=True))


def test_it_notifies_subscribers_whose_scope_matches(us, au, mdma):
    subscriber_with("carol@example.org", jurisdictions=[us])
    subscriber_with("dave@example.org", jurisdictions=[au])
    subscriber_with("erin@example.org")  # everything
    change = published_decision(jurisdiction=us, therapies=[mdma]).changes.get()

    _fan_out_all(change.pk)

    assert _recipients(change.pk) == {"carol@example.org", "erin@example.org"}


def test_it_matches_a_member_state_decision_for_a_union_subscription(mdma):
    eu = JurisdictionFactory(code="eu", name="European Union")
    de = JurisdictionFactory(code="de", name="Germany", parent=eu)
    subscriber_with("carol@example.org", jurisdictions=[eu])
    change = published_decision(jurisdiction=de, therapies=[mdma]).changes.get()

    _fan_out_all(change.pk)

    assert _recipients(change.pk) == {"carol@example.org"}


def test_it_matches_therapies_and_kinds(us, mdma):
    psilocybin = TherapyFactory(slug="psilocybin-trd")
    subscriber_with("carol@example.org", therapies=[mdma], kinds=[DecisionKind.APPROVAL])
    subscriber_with("dave@example.org", therapies=[psilocybin])
    subscriber_with("erin@example.org", kinds=[DecisionKind.REFUSAL])
    decision = published_decision(jurisdiction=us, therapies=[mdma, TherapyFactory()], kind=DecisionKind.APPROVAL)
    change = decision.changes.get()

    _fan_out_all(change.pk)

    assert _recipients(change.pk) == {"carol@example.org"}


def test_it_writes_one_notification_for_several_matching_subscriptions(us, mdma):
    carol = subscriber_with("carol@example.org", jurisdictions=[us])
    subscriber_with("carol@example.org", therapies=[mdma])
    subscriber_with("carol@example.org")
    change = published_decision(jurisdiction=us, therapies=[mdma]).changes.get()

    ids = _fan_out_all(change.pk)

    assert carol.subscriptions.count() == 3
    assert len(ids) == 1
    assert Notification.objects.filter(subscriber=carol, change=change).count() == 1


def test_it_skips_digest_pending_unsubscribed_and_bounced_subscribers(us):
    subscriber_with("daily@example.org", cadence=Cadence.DAILY)
    pending_subscription("pending@example.org")
    gone = subscriber_with("gone@example.org")
    services.subscriber_unsubscribe(subscriber=gone)
    bounced = subscriber_with("bounced@example.org")
    delivery.subscriber_suppress(subscriber_id=bounced.pk, reason="550 no such user")
    change = published_decision(jurisdiction=us).changes.get()

    _fan_out_all(change.pk)

    assert _recipients(change.pk) == set()


def test_it_never_sends_changes_recorded_before_the_subscription(us):
    old_change = published_decision(jurisdiction=us).changes.get()
    subscriber_with("carol@example.org")

    _fan_out_all(old_change.pk)

    assert _recipients(old_change.pk) == set()
    assert subscription_of(Subscriber.objects.get()).starts_after_change_id == old_change.pk


def test_it_never_notifies_changes_from_a_dataset_import(us):
    subscriber_with("carol@example.org")
    decision = DecisionFactory(jurisdiction=us)
    change = decision_publish(decision=decision, is_import=True)

    ids = _fan_out_all(change.pk)

    assert ids == []
    assert ChangeFanOut.objects.get(pk=change.pk).completed_at is not None


def test_it_reaches_followers_of_a_jurisdiction_an_amendment_moved_away_from(us, au):
    subscriber_with("carol@example.org", jurisdictions=[au])
    decision = published_decision(jurisdiction=au)

    change = decision_update(
        decision=decision,
        data={"jurisdiction": us, "regulator": None},
        change_kind=ChangeKind.CORRECT,
        note="Wrong jurisdiction.",
    )
    _fan_out_all(change.pk)

    assert _recipients(change.pk) == {"carol@example.org"}


def test_it_notifies_retractions(us):
    subscriber_with("carol@example.org")
    decision = published_decision(jurisdiction=us)

    change = decision_retract(decision=decision, note="Wrong agency.")
    _fan_out_all(change.pk)

    assert _recipients(change.pk) == {"carol@example.org"}


def test_it_walks_subscribers_in_chunks_and_resumes_where_it_stopped(us, settings):
    settings.TRACKER_FAN_OUT_CHUNK = 2
    for name in "abcde":
        subscriber_with(f"{name}@example.org")
    change = published_decision(jurisdiction=us).changes.get()

    first = delivery.change_fan_out(change_id=change.pk)
    # A redelivered or swept copy of the task continues from the saved position.
    rest = _fan_out_all(change.pk)

    assert first.more is True and len(first.notification_ids) == 2
    assert len(rest) == 3
    assert Notification.objects.filter(change=change).count() == 5
    assert ChangeFanOut.objects.get(pk=change.pk).completed_at is not None


def test_it_does_nothing_when_the_fan_out_is_already_complete(us):
    subscriber_with("carol@example.org")
    change = published_decision(jurisdiction=us).changes.get()
    _fan_out_all(change.pk)

    step = delivery.change_fan_out(change_id=change.pk)

    assert step == delivery.FanOutStep([], more=False)
    assert Notification.objects.count() == 1


def _queries_for_one_step(change_id: int) -> int:
    with CaptureQueriesContext(connection) as captured:
        delivery.change_fan_out(change_id=change_id)
    return len(captured.captured_queries)


def test_it_runs_a_constant_number_of_queries_per_chunk(us, mdma, settings):
    settings.TRACKER_FAN_OUT_CHUNK = 100
    for index in range(3):
        subscriber_with(f"early{index}@example.org", jurisdictions=[us], therapies=[mdma])
    reaches_three = published_decision(jurisdiction=us, therapies=[mdma]).changes.get()
    for index in range(40):
        subscriber_with(f"late{index}@example.org", jurisdictions=[us], kinds=[DecisionKind.APPROVAL])
    reaches_forty_three = published_decision(jurisdiction=us, therapies=[mdma]).changes.get()

    assert _queries_for_one_step(reaches_three.pk) == _queries_for_one_step(reaches_forty_three.pk)
    assert Notification.objects.filter(change=reaches_forty_three).count() == 43


def test_it_matches_in_sql_exactly_as_in_python(us, au, mdma):
    """The fan-out (SQL) and the digest builder (Python) share one rule."""
    eu = JurisdictionFactory(code="eu")
    de = JurisdictionFactory(code="de", parent=eu)
    psilocybin = TherapyFactory(slug="psilocybin-trd")
    scopes = [
        {},
        {"jurisdictions": [us]},
        {"jurisdictions": [eu]},
        {"jurisdictions": [de]},
        {"jurisdictions": [au, us]},
        {"therapies": [mdma]},
        {"therapies": [psilocybin]},
        {"kinds": [DecisionKind.APPROVAL]},
        {"kinds": [DecisionKind.REFUSAL, DecisionKind.GUIDANCE]},
        {"jurisdictions": [eu], "therapies": [mdma], "kinds": [DecisionKind.APPROVAL]},
    ]
    for index, scope in enumerate(scopes):
        subscriber_with(f"s{index}@example.org", **scope)
    changes = [
        published_decision(jurisdiction=j, therapies=t, kind=k).changes.get()
        for j, t, k in [
            (us, [mdma], DecisionKind.APPROVAL),
            (de, [psilocybin], DecisionKind.REFUSAL),
            (eu, [mdma, psilocybin], DecisionKind.GUIDANCE),
            (au, [mdma], DecisionKind.APPROVAL),
        ]
    ]
    loaded = selectors.changes_for_delivery(c.pk for c in changes)
    change_scopes = selectors.change_scopes(loaded.values())
    subscriptions = [
        selectors.subscription_scope(s)
        for s in Subscription.objects.prefetch_related("jurisdictions", "therapies", "kind_rows")
    ]

    for change in changes:
        in_sql = set(
            selectors.subscriptions_matching(
                change_id=change.pk,
                scope=change_scopes[change.pk],
                cadence=Cadence.INSTANT,
            ).values_list("subscriber_id", flat=True)
        )
        in_python = {s.subscriber_id for s in subscriptions if s.matches(change.pk, change_scopes[change.pk])}
        assert in_sql == in_python, change
