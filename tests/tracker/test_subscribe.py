"""Subscribing through the API and the /subscribe/ page."""

from __future__ import annotations

import importlib
import logging
import os
import signal
import socket
import subprocess
from collections.abc import Iterator

import pytest
import redis
from django.apps import apps as django_apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from config import settings as production_settings
from config.celery import app as celery_app
from tests.factories import JurisdictionFactory, TherapyFactory
from tests.tracker.conftest import wait_until
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
    response = _post(
        client,
        email="carol@example.org",
        cadence="daily",
        jurisdictions=["us"],
        therapies=["mdma-ptsd"],
        kinds=["approval"],
    )

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

    answers = [
        _post(client, email=address)
        for address in ("new@example.org", "pending@example.org", "known@example.org", "KNOWN@example.org")
    ]

    assert {r.status_code for r in answers} == {202}
    assert len({r.content for r in answers}) == 1


def test_it_queues_the_confirmation_after_commit(client, queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, email="carol@example.org")

    assert queued == [("tracker.tasks.confirmation_send", (Subscription.objects.get().pk,))]


def test_it_sends_nothing_to_a_bounced_address_but_answers_the_same(
    client, queued, scripted_mail, django_capture_on_commit_callbacks
):
    bounced = subscriber_with("bounced@example.org")
    delivery.subscriber_suppress(subscriber_id=bounced.pk, reason="550")

    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, email="bounced@example.org")
    for _, (subscription_id,) in queued:
        delivery.confirmation_send(subscription_id=subscription_id)

    assert response.status_code == 202
    assert scripted_mail.sent == []
    assert not Subscription.objects.filter(confirmed_at__isnull=True).exists()


def test_it_does_the_same_work_for_a_bounced_address_as_for_a_subscribed_one(
    queued, us, django_capture_on_commit_callbacks
):
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


def test_it_treats_addresses_case_insensitively_and_stores_the_domain_in_lower_case(client):
    _post(client, email="Carol@Example.org")
    _post(client, email="carol@example.ORG")

    assert Subscriber.objects.count() == 1
    # The local part keeps its case (a few servers tell cases apart); the domain never does.
    assert Subscriber.objects.get().email == "Carol@example.org"


# --- One mailbox, one address ------------------------------------------------------

# Each reaches victim@example.org's mailbox (or bücher.de's), whatever its spelling.
MAILBOX_VARIANTS = [
    "victim@example.org",
    "VICTIM@EXAMPLE.ORG",
    "\uff56\uff49\uff43\uff54\uff49\uff4d@example.org",  # fullwidth local part
    "victim@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.org",  # fullwidth domain
    "\uff56\uff49\uff43\uff54\uff49\uff4d\uff20\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45\uff0e\uff4f\uff52\uff47",
    "victim+1@example.org",
    "victim+news@Example.Org",
    " victim@example.org ",
]


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        (
            "\uff43\uff41\uff52\uff4f\uff4c@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45\uff0e\uff4f\uff52\uff47",
            "carol@example.org",
        ),
        ("carol@EXAMPLE.org", "carol@example.org"),
        ("carol@b\u00fccher.de", "carol@xn--bcher-kva.de"),
        ("carol@B\u00dcCHER.de", "carol@xn--bcher-kva.de"),
        ("carol@xn--bcher-kva.de", "carol@xn--bcher-kva.de"),
        ("carol@\u4f8b\u3048.jp", "carol@xn--r8jz45g.jp"),
        ("carol@example\u3002org", "carol@example.org"),  # ideographic full stop
    ],
)
def test_it_stores_the_normal_form_of_an_address(client, given, stored):
    response = _post(client, email=given)

    assert response.status_code == 202
    assert Subscriber.objects.get().email == stored


def test_it_keeps_one_subscriber_for_every_spelling_of_one_mailbox(client):
    for address in (
        "carol@b\u00fccher.de",
        "carol@xn--bcher-kva.de",
        "CAROL@B\u00dcCHER.DE",
        "\uff43\uff41\uff52\uff4f\uff4c@b\u00fccher.de",
    ):
        assert _post(client, email=address).status_code == 202

    assert Subscriber.objects.count() == 1


def test_it_counts_every_variant_of_one_mailbox_against_one_rate_limit(
    client, settings, queued, django_capture_on_commit_callbacks
):
    """The finding: eight spellings of one victim's address got eight confirmations in an hour."""
    settings.SUBSCRIBE_RATE_PER_ADDRESS = 5

    with django_capture_on_commit_callbacks(execute=True):
        answers = [_post(client, email=address).status_code for address in MAILBOX_VARIANTS]

    assert answers == [202] * 5 + [429] * 3
    assert len(queued) == 5


@pytest.mark.parametrize(
    ("address", "character"),
    [
        ("victim@exa\u00admple.org", "U+00AD SOFT HYPHEN"),
        ("vic\u00adtim@example.org", "U+00AD SOFT HYPHEN"),
        ("victim@exa\u200bmple.org", "U+200B ZERO WIDTH SPACE"),
        ("victim@exa\u200dmple.org", "U+200D ZERO WIDTH JOINER"),
        ("victim@example\u202e.org", "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("victim@example\u2066.org", "U+2066 LEFT-TO-RIGHT ISOLATE"),
        ("\ufeffvictim@example.org", "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
        ("victim@exa\u2060mple.org", "U+2060 WORD JOINER"),
        ("victim@exa\u034fmple.org", "U+034F COMBINING GRAPHEME JOINER"),
        ("victim@exa\ufe0fmple.org", "U+FE0F VARIATION SELECTOR-16"),
        ("victim@exa\u3164mple.org", "U+3164 HANGUL FILLER"),
        ("victim\u00a0@example.org", "U+00A0 NO-BREAK SPACE"),
        ("victim@example.org\x07", "U+0007"),
    ],
)
def test_it_refuses_an_address_with_an_invisible_character_naming_it(client, address, character):
    response = _post(client, email=address)

    assert response.status_code == 400
    assert character in " ".join(response.json()["email"])
    assert Subscriber.objects.count() == 0


def test_it_refuses_a_nul_in_an_address_naming_the_field(client):
    response = _post(client, email="victim@example.org\x00")

    assert response.status_code == 400
    assert "email" in response.json()
    assert Subscriber.objects.count() == 0


@pytest.mark.parametrize(
    "address",
    [
        '"victim"@example.org',
        '"vic tim"@example.org',
        "\uff02victim\uff02@example.org",  # fullwidth quotation marks, NFKC makes them plain ones
        "vic\\tim@example.org",
    ],
)
def test_it_refuses_a_quoted_local_part_with_a_clear_message(client, address):
    response = _post(client, email=address)

    assert response.status_code == 400
    assert "quotes" in " ".join(response.json()["email"])
    assert Subscriber.objects.count() == 0


@pytest.mark.parametrize(
    "address",
    ["carol@xn--zz.org", "carol@-example.org", "carol@[127.0.0.1]", "carol@" + "a" * 64 + ".org", "carol@example.org."],
)
def test_it_refuses_an_address_whose_domain_is_not_a_valid_name(client, address):
    response = _post(client, email=address)

    assert response.status_code == 400
    assert "email" in response.json()
    assert Subscriber.objects.count() == 0


def test_it_refuses_an_invisible_character_on_the_page_too(client):
    response = client.post(reverse("tracker-subscribe"), {"email": "victim@exa\u00admple.org", "cadence": "instant"})

    assert response.status_code == 400
    assert "U+00AD SOFT HYPHEN" in response.content.decode()
    assert Subscriber.objects.count() == 0


def test_it_counts_variants_against_one_limit_on_the_page_too(client, settings):
    settings.SUBSCRIBE_RATE_PER_ADDRESS = 2

    answers = [
        client.post(reverse("tracker-subscribe"), {"email": address, "cadence": "instant"}).status_code
        for address in MAILBOX_VARIANTS[:3]
    ]

    assert answers == [200, 200, 429]
    assert Subscriber.objects.count() == 1


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"email": "not-an-address"}, "email"),
        ({"email": ""}, "email"),
        ({"email": "a" * 250 + "@example.org"}, "email"),
        ({"email": "carol@example.org\r\nBcc: x@example.org"}, "email"),
        ({"email": "carol@example.org", "cadence": "hourly"}, "cadence"),
        ({"email": "carol@example.org", "jurisdictions": ["atlantis"]}, "jurisdictions"),
        ({"email": "carol@example.org", "jurisdictions": "us"}, "jurisdictions"),
        ({"email": "carol@example.org", "therapies": ["lsd-anything"]}, "therapies"),
        ({"email": "carol@example.org", "kinds": ["rumour"]}, "kinds"),
    ],
)
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

    answers = [
        _post(client, email="carol@example.org", cadence=c).status_code
        for c in ("instant", "daily", "weekly", "instant")
    ]

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

    response = client.post(
        API,
        {"email": "b@example.org", "cadence": "instant"},
        content_type="application/json",
        HTTP_X_FORWARDED_FOR="10.0.0.2",
    )

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
    response = client.post(
        reverse("tracker-subscribe"),
        {
            "email": "carol@example.org",
            "cadence": "weekly",
            "jurisdictions": ["us"],
        },
    )

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


# --- Redis (the rate limiter's cache, the broker) down or hung ---------------------


@pytest.fixture(autouse=True)
def _no_remembered_outage():
    """Outages are remembered per process for a few seconds: none leaks between tests."""
    services.cache_outage.end()
    services.broker_outage.end()
    yield
    services.cache_outage.end()
    services.broker_outage.end()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def hung_redis(settings) -> Iterator[str]:
    """A real Redis server, stopped with SIGSTOP: it accepts connections (the
    kernel does) and never answers. The cache and the broker point at it, with
    the production settings' timeouts."""
    port = _free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    app = celery_app
    saved = app.conf.broker_url, app.conf.broker_transport_options, app._pool, app.amqp._producer_pool
    try:
        client = redis.Redis.from_url(url, socket_timeout=5)
        wait_until(lambda: _answers(client), timeout=30, what="the throwaway Redis to start")
        client.close()
        os.kill(server.pid, signal.SIGSTOP)
        settings.CACHES = {"default": {**production_settings.CACHES["default"], "LOCATION": url}}
        app.conf.broker_url = url
        app.conf.broker_transport_options = production_settings.CELERY_BROKER_TRANSPORT_OPTIONS
        app._pool = app.amqp._producer_pool = None  # a new producer pool, for the new URL
        # A guard against hanging the whole suite if a timeout goes missing
        # (the request would then never return); not a measurement.
        signal.signal(signal.SIGALRM, _hung)
        signal.alarm(120)
        yield url
    finally:
        signal.alarm(0)
        server.kill()
        server.wait()
        app.conf.broker_url, app.conf.broker_transport_options, app._pool, app.amqp._producer_pool = saved


def _answers(client) -> bool:
    try:
        return client.ping()
    except redis.exceptions.ConnectionError:
        return False


def _hung(signum, frame):
    raise AssertionError("a request hung on the stopped Redis")


def test_it_accepts_a_subscription_when_redis_hangs_and_leaves_the_mail_to_the_sweeper(
    client, hung_redis, caplog, django_capture_on_commit_callbacks
):
    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        response = _post(client, email="carol@example.org")

    subscription = Subscription.objects.get()
    plan = delivery.stalled_sweep(stale_after=0, claim_timeout=900)
    messages = [record.getMessage() for record in caplog.records]
    assert response.status_code == 202
    assert subscription.confirmed_at is None and subscription.confirmation_sent_at is None
    assert plan.confirmation_ids == [subscription.pk]
    assert any("cache is unavailable: Timeout" in m for m in messages)
    assert any("left for the sweeper: Timeout" in m for m in messages)


def test_it_accepts_a_subscription_from_the_page_when_redis_hangs(
    client, hung_redis, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("tracker-subscribe"), {"email": "carol@example.org", "cadence": "weekly"})

    assert response.status_code == 200
    assert b"Check your inbox" in response.content
    assert Subscription.objects.get().confirmation_sent_at is None


def test_it_skips_a_redis_that_hung_moments_ago_instead_of_waiting_again(
    client, hung_redis, caplog, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, email="carol@example.org")
    caplog.clear()

    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        response = _post(client, email="dave@example.org")

    messages = [record.getMessage() for record in caplog.records]
    assert response.status_code == 202
    assert Subscription.objects.count() == 2
    assert any("the cache was unavailable moments ago" in m for m in messages)
    assert any("Broker unavailable moments ago" in m for m in messages)
    assert not any("Timeout" in m for m in messages)


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


# --- Addresses stored before normalisation ------------------------------------------


def test_it_brings_stored_addresses_into_the_normal_form_and_loses_no_subscription(caplog):
    migration = importlib.import_module("tracker.migrations.0004_subscriber_email_normal_form")
    stored = [
        "Dave@EXAMPLE.org",
        '"erin"@example.org',
        "frank@exa\u00admple.org",
        "gina@b\u00fccher.de",
        "gina@XN--BCHER-KVA.de",
        "\uff48\uff41\uff4c@example.org",
        "ivan@example.org",
    ]
    subscribers = [subscriber_with(address) for address in stored]  # created as given, like rows from before

    with caplog.at_level(logging.WARNING, logger="tracker.migrations"):
        migration.subscribers_normalise(django_apps, None)

    assert [Subscriber.objects.get(pk=s.pk).email for s in subscribers] == [
        # The row already holding gina's normal form (case aside) takes it; the other stays as it was.
        "Dave@example.org",
        "erin@example.org",
        "frank@exa\u00admple.org",
        "gina@b\u00fccher.de",
        "gina@xn--bcher-kva.de",
        "hal@example.org",
        "ivan@example.org",
    ]
    assert Subscription.objects.filter(confirmed_at__isnull=False).count() == len(stored)
    kept = f"ids {subscribers[2].pk}, {subscribers[3].pk}"
    assert any(kept in record.getMessage() for record in caplog.records)


def test_it_finds_a_migrated_subscriber_when_they_ask_again(client):
    migration = importlib.import_module("tracker.migrations.0004_subscriber_email_normal_form")
    dave = subscriber_with("dave@B\u00dcCHER.de")
    migration.subscribers_normalise(django_apps, None)

    _post(client, email="dave@b\u00fccher.de")

    assert Subscriber.objects.get().pk == dave.pk


# --- Bodies nobody would send -------------------------------------------------------


@pytest.mark.parametrize("depth", [33, 1_000, 100_000])
def test_it_answers_400_to_json_nested_too_deep(client, depth):
    body = '{"email": "carol@example.org", "cadence": "instant", "jurisdictions": ' + "[" * depth + "]" * depth + "}"

    response = client.post(API, body, content_type="application/json")

    assert response.status_code == 400
    assert "nested deeper than 32 levels" in response.json()["detail"]
    assert Subscription.objects.count() == 0


def test_it_still_reads_a_form_encoded_request(client):
    response = client.post(API, {"email": "carol@example.org", "cadence": "weekly"})

    assert response.status_code == 202
    assert Subscription.objects.get().cadence == Cadence.WEEKLY
