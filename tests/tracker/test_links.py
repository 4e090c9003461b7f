"""Signed links: confirm, manage, one-click unsubscribe; and bad tokens."""

from __future__ import annotations

import datetime as dt
import importlib
import re

import pytest
import time_machine
from django.apps import apps as django_apps
from django.core import signing
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories import JurisdictionFactory, published_decision
from tests.tracker.factories import pending_subscription, subscriber_with
from tracker import services, tokens
from tracker.models import Cadence, Notification, Subscriber, Subscription
from tracker.selectors import change_latest_id

pytestmark = pytest.mark.django_db


def _confirm_path(subscription: Subscription) -> str:
    return reverse("tracker-confirm", args=[tokens.confirm_token_make(subscription)])


def _manage_path(subscriber: Subscriber) -> str:
    return reverse("tracker-manage", args=[tokens.manage_token_make(subscriber)])


def _unsubscribe_path(subscriber: Subscriber) -> str:
    return reverse("tracker-unsubscribe", args=[tokens.unsubscribe_token_make(subscriber)])


# --- Confirm ------------------------------------------------------------------


def test_it_only_shows_a_button_when_the_link_is_opened():
    """A mail scanner or link preview opens the link without cookies: that confirms nothing."""
    subscription = pending_subscription("carol@example.org")

    response = Client().get(_confirm_path(subscription))

    subscription.refresh_from_db()
    content = response.content.decode()
    assert response.status_code == 200
    assert '<form method="post" action="">' in content and "Confirm my subscription" in content
    assert "carol@example.org" in content
    assert subscription.confirmed_at is None
    assert subscription.subscriber.confirmed_at is None


def test_it_confirms_with_the_button_of_the_page_the_link_opens():
    subscription = pending_subscription("carol@example.org")
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(_confirm_path(subscription))
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)

    response = browser.post(_confirm_path(subscription), {"csrfmiddlewaretoken": csrf})

    subscription.refresh_from_db()
    assert response.status_code == 200
    assert b"Subscription confirmed" in response.content
    assert subscription.confirmed_at is not None


def test_it_refuses_a_confirmation_post_without_the_pages_csrf_token():
    subscription = pending_subscription("carol@example.org")

    response = Client(enforce_csrf_checks=True).post(_confirm_path(subscription))

    subscription.refresh_from_db()
    assert response.status_code == 403
    assert subscription.confirmed_at is None


def test_it_shows_a_confirmed_subscription_as_confirmed_when_its_link_is_opened_again(client):
    subscription = pending_subscription("carol@example.org")
    client.post(_confirm_path(subscription))

    response = client.get(_confirm_path(subscription))

    assert response.status_code == 200
    assert b"Subscription confirmed" in response.content
    assert b"<form" not in response.content


def test_it_confirms_on_the_button_press(client):
    published_decision()
    subscription = pending_subscription("carol@example.org")

    response = client.post(_confirm_path(subscription))

    subscription.refresh_from_db()
    assert response.status_code == 200
    assert subscription.confirmed_at is not None
    assert subscription.starts_after_change_id == change_latest_id() > 0
    assert subscription.subscriber.confirmed_at is not None
    assert _manage_path(subscription.subscriber).encode() in response.content


def test_it_confirms_idempotently(client):
    subscription = pending_subscription("carol@example.org")
    client.post(_confirm_path(subscription))
    subscription.refresh_from_db()
    first = subscription.confirmed_at

    response = client.post(_confirm_path(subscription))

    subscription.refresh_from_db()
    assert response.status_code == 200
    assert subscription.confirmed_at == first


def test_it_does_not_create_a_twin_when_two_identical_requests_are_confirmed(client):
    first = pending_subscription("carol@example.org")
    second = pending_subscription("carol@example.org")

    client.post(_confirm_path(first))
    client.post(_confirm_path(second))

    assert Subscription.objects.filter(confirmed_at__isnull=False).count() == 1


def test_it_resumes_mail_for_someone_who_unsubscribed_and_confirms_again(client):
    carol = subscriber_with("carol@example.org")
    client.post(_unsubscribe_path(carol), {"List-Unsubscribe": "One-Click"})
    subscription = pending_subscription("carol@example.org")

    client.post(_confirm_path(subscription))

    carol.refresh_from_db()
    assert carol.unsubscribed_at is None and carol.is_active


def test_it_refuses_an_expired_confirm_link_and_changes_nothing(client):
    with time_machine.travel(dt.datetime(2025, 1, 1, tzinfo=dt.UTC)):
        subscription = pending_subscription("carol@example.org")
        path = _confirm_path(subscription)

    with time_machine.travel(dt.datetime(2025, 1, 9, tzinfo=dt.UTC)):
        opened = client.get(path)
        response = client.post(path)

    subscription.refresh_from_db()
    assert opened.status_code == response.status_code == 400
    assert b"This link is not valid" in opened.content and b"This link is not valid" in response.content
    assert subscription.confirmed_at is None


def test_it_accepts_a_confirm_link_within_its_lifetime(client):
    with time_machine.travel(dt.datetime(2025, 1, 1, tzinfo=dt.UTC)):
        subscription = pending_subscription("carol@example.org")
        path = _confirm_path(subscription)

    with time_machine.travel(dt.datetime(2025, 1, 7, tzinfo=dt.UTC)):
        response = client.post(path)

    subscription.refresh_from_db()
    assert response.status_code == 200
    assert subscription.confirmed_at is not None


@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        lambda token: token.replace(token.split(":")[0], "eyJzIjoxLCJuIjo5OTl9"),
        lambda token: "garbage",
        lambda token: token + ":extra",
    ],
)
def test_it_refuses_a_tampered_confirm_link(client, tamper):
    subscription = pending_subscription("carol@example.org")
    token = tokens.confirm_token_make(subscription)

    opened = client.get(reverse("tracker-confirm", args=[tamper(token)]))
    response = client.post(reverse("tracker-confirm", args=[tamper(token)]))

    subscription.refresh_from_db()
    assert opened.status_code == 400
    assert response.status_code == 400
    assert b"This link is not valid" in response.content
    assert b"Traceback" not in response.content
    assert subscription.confirmed_at is None


def test_it_refuses_a_token_made_for_another_purpose(client):
    carol = subscriber_with("carol@example.org")
    subscription = pending_subscription("dave@example.org")

    as_confirm = client.post(reverse("tracker-confirm", args=[tokens.manage_token_make(carol)]))
    as_manage = client.get(reverse("tracker-manage", args=[tokens.unsubscribe_token_make(carol)]))
    as_unsubscribe = client.post(
        reverse("tracker-unsubscribe", args=[tokens.manage_token_make(carol)]), {"List-Unsubscribe": "One-Click"}
    )
    confirm_as_manage = client.get(reverse("tracker-manage", args=[tokens.confirm_token_make(subscription)]))

    carol.refresh_from_db()
    assert {r.status_code for r in (as_confirm, as_manage, as_unsubscribe, confirm_as_manage)} == {400}
    assert carol.unsubscribed_at is None


def test_it_refuses_a_confirm_link_for_a_removed_subscription(client):
    subscription = pending_subscription("carol@example.org")
    path = _confirm_path(subscription)
    subscription.delete()

    assert client.get(path).status_code == 400
    assert client.post(path).status_code == 400


# --- One-click unsubscribe ------------------------------------------------------


def test_it_unsubscribes_with_a_one_click_post_without_cookies():
    carol = subscriber_with("carol@example.org")
    mail_provider = Client(enforce_csrf_checks=True)

    response = mail_provider.post(
        _unsubscribe_path(carol), "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )

    carol.refresh_from_db()
    assert response.status_code == 200
    assert carol.unsubscribed_at is not None
    assert not carol.subscriptions.exists()


def test_it_cancels_pending_mail_on_unsubscribe():
    carol = subscriber_with("carol@example.org")
    change = published_decision().changes.get()
    Notification.objects.create(subscriber=carol, change=change)

    Client().post(_unsubscribe_path(carol), {"List-Unsubscribe": "One-Click"})

    assert Notification.objects.get().cancelled_at is not None


def test_it_changes_nothing_on_get_and_shows_a_button(client):
    carol = subscriber_with("carol@example.org")

    response = client.get(_unsubscribe_path(carol))

    carol.refresh_from_db()
    assert response.status_code == 200
    assert carol.unsubscribed_at is None
    assert b'name="List-Unsubscribe" value="One-Click"' in response.content
    assert b"<button" in response.content


def test_it_requires_the_one_click_body(client):
    carol = subscriber_with("carol@example.org")

    response = client.post(_unsubscribe_path(carol), {})

    carol.refresh_from_db()
    assert response.status_code == 400
    assert carol.unsubscribed_at is None


def test_it_answers_a_repeated_unsubscribe_with_200(client):
    carol = subscriber_with("carol@example.org")
    client.post(_unsubscribe_path(carol), {"List-Unsubscribe": "One-Click"})

    response = client.post(_unsubscribe_path(carol), {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200


# --- Manage -----------------------------------------------------------------------


@pytest.fixture
def us(db):
    return JurisdictionFactory(code="us", name="United States")


def test_it_shows_the_subscriptions_on_the_manage_page(client, us):
    carol = subscriber_with("carol@example.org", cadence=Cadence.DAILY, jurisdictions=[us])

    response = client.get(_manage_path(carol))

    assert response.status_code == 200
    assert b"carol@example.org" in response.content
    assert b"Daily digest" in response.content
    assert b"United States" in response.content


def test_it_adds_a_subscription_from_the_manage_page(client, us):
    carol = subscriber_with("carol@example.org")

    response = client.post(_manage_path(carol), {"action": "add", "add-cadence": "weekly", "add-jurisdictions": ["us"]})

    added = carol.subscriptions.get(cadence=Cadence.WEEKLY)
    assert response.status_code == 302
    assert added.confirmed_at is not None
    assert added.starts_after_change_id == change_latest_id()
    assert [j.code for j in added.jurisdictions.all()] == ["us"]


def test_it_changes_a_subscription_from_the_manage_page(client, us):
    carol = subscriber_with("carol@example.org")
    subscription = carol.subscriptions.get()
    published_decision()

    client.post(
        _manage_path(carol),
        {
            "action": "update",
            "subscription": subscription.pk,
            f"s{subscription.pk}-cadence": "daily",
            f"s{subscription.pk}-jurisdictions": ["us"],
            f"s{subscription.pk}-kinds": ["approval", "refusal"],
        },
    )

    subscription.refresh_from_db()
    assert subscription.cadence == Cadence.DAILY
    assert subscription.kinds == ["approval", "refusal"]
    # A new cadence starts now: no digest of what instant mail already covered.
    assert subscription.starts_after_change_id == change_latest_id()


def test_it_removes_a_subscription_from_the_manage_page(client):
    carol = subscriber_with("carol@example.org")
    subscription = carol.subscriptions.get()

    response = client.post(_manage_path(carol), {"action": "remove", "subscription": subscription.pk})

    assert response.status_code == 302
    assert not carol.subscriptions.exists()


def test_it_does_not_touch_another_subscribers_subscription(client):
    carol = subscriber_with("carol@example.org")
    dave = subscriber_with("dave@example.org")

    response = client.post(_manage_path(carol), {"action": "remove", "subscription": dave.subscriptions.get().pk})

    assert response.status_code == 400
    assert dave.subscriptions.exists()


def test_it_names_the_bad_field_on_the_manage_page(client):
    carol = subscriber_with("carol@example.org")

    response = client.post(_manage_path(carol), {"action": "add", "add-cadence": "hourly"})

    assert response.status_code == 400
    assert b'id="id_add-cadence_error"' in response.content
    assert carol.subscriptions.count() == 1


def test_it_unsubscribes_from_the_manage_page(client):
    carol = subscriber_with("carol@example.org")

    client.post(_manage_path(carol), {"action": "unsubscribe"})

    carol.refresh_from_db()
    assert carol.unsubscribed_at is not None


def test_it_refuses_a_tampered_manage_link(client):
    carol = subscriber_with("carol@example.org")
    token = tokens.manage_token_make(carol)

    response = client.post(
        reverse("tracker-manage", args=[token[:-1] + ("x" if token[-1] != "x" else "y")]), {"action": "unsubscribe"}
    )

    carol.refresh_from_db()
    assert response.status_code == 400
    assert carol.unsubscribed_at is None


# --- Manage links are revoked on unsubscribe ----------------------------------------


def _one_click(client, subscriber: Subscriber):
    return client.post(_unsubscribe_path(subscriber), {"List-Unsubscribe": "One-Click"})


def test_it_revokes_every_manage_link_on_unsubscribe(client):
    carol = subscriber_with("carol@example.org")
    path = _manage_path(carol)
    _one_click(client, carol)

    response = client.get(path)

    assert response.status_code == 400
    assert b"This link is not valid" in response.content


def test_it_does_not_restart_mail_from_an_old_manage_link_after_an_unsubscribe(client):
    carol = subscriber_with("carol@example.org")
    path = _manage_path(carol)
    _one_click(client, carol)

    client.post(path, {"action": "add", "add-cadence": "instant"})

    carol.refresh_from_db()
    assert carol.unsubscribed_at is not None
    assert not carol.subscriptions.exists()


def test_it_refuses_to_add_a_subscription_for_an_address_that_unsubscribed():
    carol = subscriber_with("carol@example.org")
    services.subscriber_unsubscribe(subscriber=carol)

    with pytest.raises(ValidationError):
        services.subscription_add(subscriber=carol, scope=services.Scope(cadence=Cadence.INSTANT))

    carol.refresh_from_db()
    assert carol.unsubscribed_at is not None and not carol.subscriptions.exists()


def test_it_keeps_an_old_unsubscribe_link_working_after_an_unsubscribe_and_a_return(client):
    carol = subscriber_with("carol@example.org")
    _one_click(client, carol)
    client.post(_confirm_path(pending_subscription("carol@example.org")))

    response = _one_click(client, carol)

    carol.refresh_from_db()
    assert response.status_code == 200
    assert carol.unsubscribed_at is not None


def test_it_gives_a_working_manage_link_to_someone_who_came_back(client):
    carol = subscriber_with("carol@example.org")
    _one_click(client, carol)

    confirmed = client.post(_confirm_path(pending_subscription("carol@example.org")))

    carol.refresh_from_db()
    path = _manage_path(carol)
    assert path.encode() in confirmed.content
    assert client.get(path).status_code == 200


def test_it_accepts_a_manage_link_mailed_before_links_had_versions(client):
    carol = subscriber_with("carol@example.org")
    legacy = signing.Signer(salt="tracker.subscriber-manage").sign_object({"s": carol.pk}, compress=False)

    response = client.get(reverse("tracker-manage", args=[legacy]))

    assert response.status_code == 200


def test_it_revokes_legacy_manage_links_of_those_who_had_already_left():
    migration = importlib.import_module("tracker.migrations.0002_subscriber_token_version")
    carol = subscriber_with("carol@example.org")
    Subscriber.objects.filter(pk=carol.pk).update(unsubscribed_at=timezone.now(), token_version=0)
    dave = subscriber_with("dave@example.org")

    migration.revoke_links_of_those_who_left(django_apps, None)

    assert Subscriber.objects.get(pk=carol.pk).token_version == 1
    assert Subscriber.objects.get(pk=dave.pk).token_version == 0


def test_it_answers_an_unsubscribe_on_the_manage_page_without_sending_back_to_the_revoked_link(client):
    carol = subscriber_with("carol@example.org")

    response = client.post(_manage_path(carol), {"action": "unsubscribe"})

    assert response.status_code == 200
    assert b"You are unsubscribed" in response.content
