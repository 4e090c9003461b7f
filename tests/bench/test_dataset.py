"""The synthetic builder: counts, and that each benchmark change matches
exactly the subscribers the benchmark expects to mail (through the tracker's
own matching query, so a change there that breaks the bench shows up here)."""

from __future__ import annotations

import pytest

from bench import dataset
from bench.scale import TEST

pytestmark = pytest.mark.django_db


@pytest.fixture
def built():
    return dataset.build(TEST)


def _instant_matches(change) -> list[int]:
    from tracker import selectors

    scope = selectors.change_scopes([change])[change.pk]
    return selectors.fan_out_subscriber_ids(change_id=change.pk, scope=scope, after_subscriber_id=0, limit=10**6)


def _publish(plan, role: str):
    from regulatory.services import decision_publish

    return decision_publish(decision=dataset.draft_create(plan, role=role, n=1))


def test_it_inserts_the_counts_the_scale_asks_for(built):
    from regulatory.models import Change, Decision, Jurisdiction, Therapy
    from tracker.models import Subscriber

    plan, report = built
    assert Jurisdiction.objects.count() == TEST.jurisdictions
    assert Jurisdiction.objects.filter(parent__isnull=False).count() == TEST.unions * TEST.members_per_union
    assert Therapy.objects.count() == TEST.therapies
    assert Decision.objects.filter(state="published").count() == TEST.decisions
    assert Change.objects.filter(is_import=True).count() == TEST.decisions
    assert Subscriber.objects.active().count() == TEST.subscribers
    assert report.rows["decisions"] == TEST.decisions
    assert report.total_rows == sum(report.rows.values())


def test_it_gives_every_decision_a_source_and_a_therapy(built):
    from regulatory.models import Decision

    assert not Decision.objects.filter(sources__isnull=True).exists()
    assert not Decision.objects.filter(therapies__isnull=True).exists()


def test_it_gives_every_subscriber_a_daily_subscription(built):
    from tracker.models import Subscriber

    assert Subscriber.objects.exclude(subscriptions__cadence="daily").count() == 0


def test_it_moves_the_sequences_past_the_inserted_rows(built):
    from regulatory.models import Decision

    plan, _report = built
    draft = dataset.draft_create(plan, role="mail", n=1)
    assert draft.pk == Decision.objects.exclude(pk=draft.pk).order_by("-pk").first().pk + 1


def test_it_matches_the_mail_change_to_exactly_the_mail_subscribers(built):
    plan, _report = built
    change = _publish(plan, "mail")
    assert len(_instant_matches(change)) == TEST.mail_subscribers


def test_it_matches_a_latency_change_to_exactly_one_subscriber(built):
    from tracker.models import Subscriber

    plan, _report = built
    change = _publish(plan, "latency")
    ids = _instant_matches(change)
    assert list(Subscriber.objects.filter(pk__in=ids).values_list("email", flat=True)) == [
        plan.latency_subscriber_email
    ]


def test_it_matches_a_digest_change_to_no_instant_subscriber(built):
    plan, _report = built
    change = _publish(plan, "digest")
    assert _instant_matches(change) == []


def test_it_matches_the_digest_changes_to_every_daily_subscriber(built):
    from tracker import selectors
    from tracker.models import Subscriber

    plan, _report = built
    change = _publish(plan, "digest")
    bounds = {pk: (change.pk - 1, change.pk) for pk in Subscriber.objects.values_list("pk", flat=True)}
    contents = selectors.digest_build(cadence="daily", bounds=bounds)
    assert len([sid for sid, changes in contents.items() if changes]) == TEST.subscribers


def test_it_is_deterministic():
    assert dataset.plan_for(TEST) == dataset.plan_for(TEST)
