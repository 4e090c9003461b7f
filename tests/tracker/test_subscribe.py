"""Subscribing through the API and the /subscribe/ page."""

from __future__ import annotations

import logging
import socket

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import JurisdictionFactory, TherapyFactory
from tests.tracker.factories import pending_subscription, subscriber_with
from tracker import delivery, services
from tracker.models import Cadence, Subscriber, Subscription

pytestmark = pytest.mark.django_db

API = "/api/v1/subscriptions/"


@pytest.fixture
def us(db):
    return JurisdictionFactory(code="us", name="United States")


@pytest.fixture
def mdma(db):
    return TherapyFactory(slug="mdma-ptsd", name="MDMA-assisted therapy for PTSD")


def _post(client, **data):
    return client.post(API, {"cadence": "instant", **data}, content_type="application/json")


def test_it_accepts_a_request_with_202_and_records_a_pending_subscription(client, us, mdma):
    response = _post(client, email="carol@example.org", cadence="daily", jurisdictions=["us"],
                     therapies=["mdma-ptsd"], kinds=["approval"])

    subscription = Subscription.objects.get()
    assert response.status_code == 202
    assert subscription.confirmed_at is None
    assert subscription.cadence == Cadence.DAILY
    assert [j.code for j in subscription.jurisdictions.all()] == ["us"]
    assert [t.slug for t in subscription.therapies.all()] == ["mdma-ptsd"]
    assert subscription.kinds == ["approval"]
    assert Subscriber.objects.get().confirmed_at is None


def test_it_answers_the_same_for_new_pending_and_subscribed_addresses(client):
    subscriber_with("known@example.org")
    pending_subscription("pending@example.org")

    answers = [_post(client, email=address) for address in
               ("new@example.org", "pending@example.org", "known@example.org", "KNOWN@example.org")]

    assert {r.status_code for r in answers} == {202}
    assert len({r.content for r in answers}) == 1


def test_it_queues_the_confirmation_after_commit(client, queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, email="carol@example.org")

    assert queued == [("tracker.tasks.confirmation_send", (Subscription.objects.get().pk,))]


def test_it_sends_nothing_to_a_bounced_address_but_answers_the_same(client, queued, scripted_mail,
                                                                    django_capture_on_commit_callbacks):
    bounced = subscriber_with("bounced@example.org")
    delivery.subscriber_suppress(subscriber_id=bounced.pk, reason="550")

    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, email="bounced@example.org")
    for _, (subscription_id,) in queued:
        delivery.confirmation_deliver(subscription_id=subscription_id)

    assert response.status_code == 202
    assert scripted_mail.sent == []
    assert not Subscription.objects.filter(confirmed_at__isnull=True).exists()


def test_it_does_the_same_work_for_a_bounced_address_as_for_a_subscribed_one(queued, us,
                                                                           django_capture_on_commit_callbacks):
    subscriber_with("known@example.org")
    bounced = subscriber_with("bounced@example.org")
    delivery.subscriber_suppress(subscriber_id=bounced.pk, reason="550")
    scope = services.scope_validate(cadence="daily", jurisdictions=["us"])
    queries = {}

    for address in ("known@example.org", "bounced@example.org"):
        with CaptureQueriesContext(connection) as captured, django_capture_on_commit_callbacks(execute=True):
            services.subscription_request(email=address, scope=scope)
        queries[address] = len(captured)

    assert queries["bounced@example.org"] == queries["known@example.org"]
    assert [name for name, _ in queued] == ["tracker.tasks.confirmation_send"] * 2


def test_it_treats_addresses_case_insensitively(client):
    _post(client, email="Carol@Example.org")
    _post(client, email="carol@example.ORG")

    assert Subscriber.objects.count() == 1
    assert Subscriber.objects.get().email == "Carol@Example.org"


@pytest.mark.parametrize(("data", "field"), [
    ({"email": "not-an-address"}, "email"),
    ({"email": ""}, "email"),
    ({"email": "a" * 250 + "@example.org"}, "email"),
    ({"email": "carol@example.org\r\nBcc: x@example.org"}, "email"),
    ({"email": "carol@example.org", "cadence": "hourly"}, "cadence"),
    ({"email": "carol@example.org", "jurisdictions": ["atlantis"]}, "jurisdictions"),
    ({"email": "carol@example.org", "jurisdictions": "us"}, "jurisdictions"),
    ({"email": "carol@example.org", "therapies": ["lsd-anything"]}, "therapies"),
    ({"email": "carol@example.org", "kinds": ["rumour"]}, "kinds"),
])
def test_it_rejects_bad_input_with_400_naming_the_field(client, data, field):
    response = _post(client, **data)

    assert response.status_code == 400
    assert field in response.json()
    assert Subscription.objects.count() == 0


def test_it_rejects_a_request_without_a_cadence(client):
    response = client.post(API, {"email": "carol@example.org"}, content_type="application/json")

    assert response.status_code == 400
    assert "cadence" in response.json()


def test_it_rate_limits_requests_for_one_address(client, settings):
    settings.SUBSCRIBE_RATE_PER_ADDRESS = 3

    answers = [_post(client, email="carol@example.org", cadence=c).status_code
               for c in ("instant", "daily", "weekly", "instant")]

    assert answers == [202, 202, 202, 429]
    assert Subscription.objects.count() == 3


def test_it_rate_limits_requests_from_one_client(client, settings):
    settings.SUBSCRIBE_RATE_PER_IP = 2

    answers = [_post(client, email=f"person{i}@example.org") for i in range(3)]

    assert [r.status_code for r in answers] == [202, 202, 429]
    assert int(answers[2]["Retry-After"]) > 0


def test_it_counts_clients_by_remote_address_not_by_a_forged_header(client, settings):
    settings.SUBSCRIBE_RATE_PER_IP = 1
    _post(client, email="a@example.org", HTTP_X_FORWARDED_FOR="10.0.0.1")

    response = client.post(API, {"email": "b@example.org", "cadence": "instant"}, content_type="application/json",
                           HTTP_X_FORWARDED_FOR="10.0.0.2")

    assert response.status_code == 429


def test_it_uses_the_proxy_address_when_told_it_is_behind_one(settings):
    settings.TRACKER_TRUST_X_FORWARDED_FOR = True

    address = services.client_address({"REMOTE_ADDR": "10.0.0.9", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 203.0.113.7"})

    assert address == "203.0.113.7"


def test_it_shows_the_subscribe_page_with_every_choice(client, us, mdma):
    response = client.get(reverse("tracker-subscribe"))

    content = response.content.decode()
    assert response.status_code == 200
    assert 'value="us"' in content and "United States" in content
    assert 'value="mdma-ptsd"' in content
    assert 'value="approval"' in content
    assert 'value="weekly"' in content


def test_it_subscribes_from_the_page(client, us):
    response = client.post(reverse("tracker-subscribe"), {
        "email": "carol@example.org", "cadence": "weekly", "jurisdictions": ["us"],
    })

    assert response.status_code == 200
    assert b"Check your inbox" in response.content
    assert Subscription.objects.get().cadence == Cadence.WEEKLY


def test_it_shows_the_page_again_with_the_field_named_on_bad_input(client):
    response = client.post(reverse("tracker-subscribe"), {"email": "nope", "cadence": "instant"})

    assert response.status_code == 400
    assert b"Enter a valid email address." in response.content
    # The input's aria-describedby (set by Django) must name the error's id.
    assert b'aria-describedby="id_email_error"' in response.content
    assert b'id="id_email_error"' in response.content


def test_it_rate_limits_the_page_too(client, settings):
    settings.SUBSCRIBE_RATE_PER_IP = 1
    client.post(reverse("tracker-subscribe"), {"email": "a@example.org", "cadence": "instant"})

    response = client.post(reverse("tracker-subscribe"), {"email": "b@example.org", "cadence": "instant"})

    assert response.status_code == 429
    assert b"Too many requests" in response.content


# --- Redis (the rate limiter's cache) down ----------------------------------------

@pytest.fixture
def cache_down(settings) -> None:
    """The cache points at a port where nothing listens: every call raises."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": f"redis://127.0.0.1:{port}/0"}
    }


def test_it_accepts_an_api_request_when_the_rate_limiter_cache_is_down(client, cache_down, caplog):
    with caplog.at_level(logging.WARNING, logger="tracker.services"):
        response = _post(client, email="carol@example.org")

    assert response.status_code == 202
    assert Subscription.objects.get().confirmed_at is None
    assert any("cache is unavailable" in record.getMessage() for record in caplog.records)


def test_it_accepts_a_request_from_the_page_when_the_rate_limiter_cache_is_down(client, cache_down):
    response = client.post(reverse("tracker-subscribe"), {"email": "carol@example.org", "cadence": "weekly"})

    assert response.status_code == 200
    assert b"Check your inbox" in response.content
    assert Subscription.objects.get().cadence == Cadence.WEEKLY
