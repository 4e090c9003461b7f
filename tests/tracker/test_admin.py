"""What editors see of deliveries in the admin."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import published_decision
from tests.tracker.factories import subscriber_with
from tracker import delivery
from tracker.models import Cadence, Notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def deliveries(db):
    """One change mailed to three subscribers: one sent, one pending, one failed."""
    for name in ("sent", "pending", "failed"):
        subscriber_with(f"{name}@example.org")
    subscriber_with("digest@example.org", cadence=Cadence.DAILY)
    change = published_decision(title="MDMA approved").changes.get()
    delivery.change_fan_out(change_id=change.pk)
    Notification.objects.filter(subscriber__email="sent@example.org").update(sent_at="2025-01-01T00:00Z")
    Notification.objects.filter(subscriber__email="failed@example.org").update(
        failed_at="2025-01-01T00:00Z", last_error="Recipient refused: 550 no such user")
    delivery.digest_plan(cadence=Cadence.DAILY)
    return change


def test_it_shows_editors_sent_pending_and_failed_per_change(editor_client, deliveries):
    response = editor_client.get(reverse("admin:tracker_changedelivery_changelist"))

    content = response.content.decode()
    assert response.status_code == 200
    assert "MDMA approved" in content
    for status in ("sent", "pending", "failed"):
        assert f"change__id__exact={deliveries.pk}&amp;status={status}\">1</a>" in content


def test_it_lists_a_changes_notifications_with_why_they_failed(editor_client, deliveries):
    url = reverse("admin:tracker_notification_changelist")

    response = editor_client.get(url, {"change__id__exact": deliveries.pk, "status": "failed"})

    content = response.content.decode()
    assert response.status_code == 200
    assert "failed@example.org" in content and "550 no such user" in content
    assert "sent@example.org" not in content


def test_it_shows_deliveries_per_subscriber(editor_client, deliveries):
    subscriber = Notification.objects.get(subscriber__email="failed@example.org").subscriber

    response = editor_client.get(reverse("admin:tracker_subscriber_change", args=[subscriber.pk]))

    assert response.status_code == 200
    assert b"550 no such user" in response.content


def test_it_opens_every_tracker_admin_page_for_editors(editor_client, deliveries):
    for model in ("subscriber", "notification", "digestdelivery", "changedelivery"):
        response = editor_client.get(reverse(f"admin:tracker_{model}_changelist"))
        assert response.status_code == 200, model
    response = editor_client.get(reverse("admin:tracker_changedelivery_change", args=[deliveries.pk]))
    assert response.status_code == 200


def test_it_lets_editors_change_no_delivery(editor_client, deliveries):
    notification = Notification.objects.first()

    response = editor_client.post(reverse("admin:tracker_notification_change", args=[notification.pk]),
                                  {"last_error": "edited"})

    notification.refresh_from_db()
    assert response.status_code == 403
    assert notification.last_error != "edited"


def test_it_keeps_non_editors_out(client, bob, deliveries):
    client.force_login(bob)

    response = client.get(reverse("admin:tracker_changedelivery_changelist"))

    assert response.status_code == 302
