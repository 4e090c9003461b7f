"""What editors see of deliveries in the admin."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.urls import reverse

from tests.factories import published_decision
from tests.tracker.factories import subscriber_with
from tracker import delivery
from tracker.access import SUBSCRIBER_MANAGERS_GROUP
from tracker.models import Cadence, DigestDelivery, Notification, Subscriber

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def dora(db):
    """An editor who is also a subscriber manager: she may see addresses."""
    from regulatory.editors import editor_create

    user, _token = editor_create(username="dora", email="dora@example.org")
    call_command("subscriber_manager", "dora", stdout=io.StringIO())
    return user


@pytest.fixture
def manager_client(client, dora):
    client.force_login(dora)
    return client


def _addresses_in(content: str) -> list[str]:
    """Subscriber addresses found in a page (the signed-in user's own is not one)."""
    return [a for a in Subscriber.objects.values_list("email", flat=True) if a in content]


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
        failed_at="2025-01-01T00:00Z", last_error="Recipient refused: 550 no such user"
    )
    delivery.digest_plan(cadence=Cadence.DAILY)
    return change


def test_it_shows_editors_sent_pending_and_failed_per_change(editor_client, deliveries):
    response = editor_client.get(reverse("admin:tracker_changedelivery_changelist"))

    content = response.content.decode()
    assert response.status_code == 200
    assert "MDMA approved" in content
    for status in ("sent", "pending", "failed"):
        assert f'change__id__exact={deliveries.pk}&amp;status={status}">1</a>' in content


def test_it_lists_a_changes_notifications_with_why_they_failed(manager_client, deliveries):
    url = reverse("admin:tracker_notification_changelist")

    response = manager_client.get(url, {"change__id__exact": deliveries.pk, "status": "failed"})

    content = response.content.decode()
    assert response.status_code == 200
    assert "failed@example.org" in content and "550 no such user" in content
    assert "sent@example.org" not in content


def test_it_lists_a_changes_notifications_for_editors_without_addresses(editor_client, deliveries):
    url = reverse("admin:tracker_notification_changelist")

    response = editor_client.get(url, {"change__id__exact": deliveries.pk})

    content = response.content.decode()
    failed = Notification.objects.get(failed_at__isnull=False)
    assert response.status_code == 200
    assert "550 no such user" in content and f"Subscriber #{failed.subscriber_id}" in content
    assert not _addresses_in(content)


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

    response = editor_client.post(
        reverse("admin:tracker_notification_change", args=[notification.pk]), {"last_error": "edited"}
    )

    notification.refresh_from_db()
    assert response.status_code == 403
    assert notification.last_error != "edited"


def test_it_keeps_non_editors_out(client, bob, deliveries):
    client.force_login(bob)

    response = client.get(reverse("admin:tracker_changedelivery_changelist"))

    assert response.status_code == 302


# --- Addresses: only for subscriber managers ----------------------------------------


def test_it_shows_editors_no_address_in_any_tracker_admin_page(editor_client, deliveries):
    failed = Notification.objects.get(failed_at__isnull=False)
    Notification.objects.filter(pk=failed.pk).update(
        last_error="550 5.1.1 <failed@example.org>: Recipient address rejected"
    )
    subscriber = failed.subscriber
    Subscriber.objects.filter(pk=subscriber.pk).update(
        suppressed_at="2025-01-01T00:00Z", suppressed_reason="550 <failed@example.org> unknown"
    )
    digest = DigestDelivery.objects.first()
    pages = [
        reverse("admin:tracker_subscriber_changelist"),
        reverse("admin:tracker_subscriber_change", args=[subscriber.pk]),
        reverse("admin:tracker_notification_changelist"),
        reverse("admin:tracker_notification_change", args=[failed.pk]),
        reverse("admin:tracker_digestdelivery_changelist"),
        reverse("admin:tracker_digestdelivery_change", args=[digest.pk]),
        reverse("admin:tracker_changedelivery_changelist"),
        reverse("admin:tracker_changedelivery_change", args=[deliveries.pk]),
    ]

    for page in pages:
        response = editor_client.get(page)
        content = response.content.decode()
        assert response.status_code == 200, page
        assert _addresses_in(content) == [], page
    subscriber_page = editor_client.get(pages[1]).content.decode()
    assert "Recipient address rejected" in subscriber_page and "[address hidden]" in subscriber_page
    assert f"Subscriber #{subscriber.pk}" in subscriber_page


def test_it_gives_editors_no_search_by_address(editor_client, deliveries):
    """Searching for an address that subscribes and one that does not must look the same."""
    for model in ("subscriber", "notification", "digestdelivery"):
        url = reverse(f"admin:tracker_{model}_changelist")

        known = editor_client.get(url, {"q": "failed@example.org"})
        unknown = editor_client.get(url, {"q": "nobody@example.org"})

        assert known.status_code == unknown.status_code == 200, model
        assert known.context["cl"].result_count == unknown.context["cl"].result_count, model


@pytest.mark.parametrize(
    ("model", "lookup"),
    [
        ("subscriber", "email__startswith"),
        ("subscriber", "email"),
        ("subscriber", "suppressed_reason__icontains"),
        ("notification", "subscriber__email__startswith"),
        ("notification", "last_error__icontains"),
        ("digestdelivery", "subscriber__email"),
    ],
)
def test_it_refuses_editors_a_filter_on_addresses_in_the_url(editor_client, deliveries, model, lookup):
    response = editor_client.get(reverse(f"admin:tracker_{model}_changelist"), {lookup: "f"})

    assert response.status_code == 400
    assert not _addresses_in(response.content.decode())


def test_it_shows_subscriber_managers_addresses_and_lets_them_search(manager_client, deliveries):
    response = manager_client.get(reverse("admin:tracker_subscriber_changelist"), {"q": "failed@"})
    found = manager_client.get(reverse("admin:tracker_notification_changelist"), {"q": "sent@example.org"})

    assert response.status_code == 200
    assert _addresses_in(response.content.decode()) == ["failed@example.org"]
    assert found.status_code == 200
    assert _addresses_in(found.content.decode()) == ["sent@example.org"]


def test_it_shows_a_subscriber_manager_the_address_on_a_subscribers_page(manager_client, deliveries):
    subscriber = Subscriber.objects.get(email="failed@example.org")

    response = manager_client.get(reverse("admin:tracker_subscriber_change", args=[subscriber.pk]))

    assert "failed@example.org" in response.content.decode()


def test_it_shows_superusers_addresses(client, deliveries, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.org", "x"))

    response = client.get(reverse("admin:tracker_subscriber_changelist"))

    assert len(_addresses_in(response.content.decode())) == Subscriber.objects.count()


def test_it_never_gives_the_address_permission_to_the_editors_group(alice):
    assert not alice.has_perm("tracker.see_subscriber_address")
    assert alice.has_perm("tracker.view_subscriber") and alice.has_perm("tracker.view_notification")


def test_it_makes_a_staff_user_a_subscriber_manager_and_takes_it_back(alice, django_user_model):
    out = io.StringIO()

    call_command("subscriber_manager", "alice", stdout=out)
    granted = django_user_model.objects.get(pk=alice.pk).has_perm("tracker.see_subscriber_address")
    call_command("subscriber_manager", "alice", "--remove", stdout=out)

    assert granted
    assert not django_user_model.objects.get(pk=alice.pk).has_perm("tracker.see_subscriber_address")
    assert (
        Group.objects.get(name=SUBSCRIBER_MANAGERS_GROUP).permissions.filter(codename="see_subscriber_address").exists()
    )


def test_it_refuses_to_make_a_non_staff_user_or_nobody_a_subscriber_manager(bob):
    with pytest.raises(CommandError, match="not staff"):
        call_command("subscriber_manager", "bob")
    with pytest.raises(CommandError, match="No user"):
        call_command("subscriber_manager", "nobody")

    assert not bob.groups.exists()
