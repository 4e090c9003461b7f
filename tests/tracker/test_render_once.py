"""Emails rendered once and addressed per recipient (emails.Personaliser)
are exactly the emails Django would build for each recipient, and reach a
real SMTP server intact."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import published_decision
from tests.tracker.factories import subscriber_with
from tracker import delivery, emails, selectors, tokens
from tracker.models import DigestDelivery, Notification

pytestmark = pytest.mark.django_db

ADDRESSES = ["carol@example.org", "dave.o+alerts@sub.example.co.uk", "x@example.org"]


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://tracker.example.org"


def _normalised(raw: bytes) -> bytes:
    """The bytes with what differs between any two builds of one email (the
    Date header and the random MIME boundaries) replaced by fixed text."""
    for number, boundary in enumerate(dict.fromkeys(re.findall(rb'boundary="([^"]+)"', raw))):
        raw = raw.replace(boundary, b"BOUNDARY-%d" % number)
    return re.sub(rb"^Date: [^\r\n]*\r\n", b"Date: -\r\n", raw, flags=re.MULTILINE)


def _django_bytes(message) -> bytes:
    return message.message().as_bytes(linesep="\r\n")


def _notifications(*addresses: str, **decision) -> list[Notification]:
    for address in addresses:
        subscriber_with(address)
    change = published_decision(announced_on=timezone.now().date(), **decision).changes.get()
    ids = delivery.change_fan_out(change_id=change.pk).notification_ids
    return list(Notification.objects.filter(pk__in=ids).select_related("subscriber").order_by("pk"))


def test_an_instant_email_is_byte_for_byte_the_one_django_builds_for_each_recipient():
    rows = _notifications(*ADDRESSES)
    change = selectors.changes_for_delivery({rows[0].change_id})[rows[0].change_id]
    personaliser = emails.Personaliser()

    for row in rows:
        outgoing = personaliser.outgoing(
            key=change.pk,
            recipient=emails.notification_recipient(row),
            render=lambda recipient: emails.change_email(change, recipient),
        )
        assert outgoing.raw is not None, row.subscriber.email
        built_by_django = emails.change_email(change, emails.notification_recipient(row))
        assert _normalised(outgoing.raw) == _normalised(_django_bytes(built_by_django))
    assert len(personaliser._rendered) == 1  # rendered once for all three


def test_a_digest_is_byte_for_byte_the_one_django_builds_for_each_recipient():
    rows = _notifications(*ADDRESSES)  # subscribers and one change
    second = published_decision(announced_on=timezone.now().date()).changes.get()
    changes = list(selectors.changes_for_delivery({rows[0].change_id, second.pk}).values())
    personaliser = emails.Personaliser()

    for row in rows:
        digest = DigestDelivery.objects.create(
            subscriber=row.subscriber, cadence="daily", after_change_id=0, upto_change_id=second.pk, period="2025-03-25"
        )
        outgoing = personaliser.outgoing(
            key=("daily", digest.period, tuple(c.pk for c in changes)),
            recipient=emails.digest_recipient(digest),
            render=lambda recipient, digest=digest: emails.digest_email("daily", digest.period, changes, recipient),
        )
        assert outgoing.raw is not None
        assert _normalised(outgoing.raw) == _normalised(
            _django_bytes(emails.digest_email(digest.cadence, digest.period, changes, emails.digest_recipient(digest)))
        )


@pytest.mark.parametrize("address", ["jörg@example.org", "anna@exämple.org", "o'brien@example.org"])
def test_an_address_django_would_encode_or_escape_gets_the_email_built_in_full(address):
    [row] = _notifications(address)
    change = selectors.changes_for_delivery({row.change_id})[row.change_id]

    outgoing = emails.Personaliser().outgoing(
        key=change.pk,
        recipient=emails.notification_recipient(row),
        render=lambda recipient: emails.change_email(change, recipient),
    )

    assert outgoing.raw is None
    assert outgoing.message().to == [address]


def test_a_body_django_encodes_gets_the_email_built_in_full():
    # A line over 998 bytes makes Django encode the body quoted-printable.
    [row] = _notifications("carol@example.org", summary="word " * 300)
    change = selectors.changes_for_delivery({row.change_id})[row.change_id]

    outgoing = emails.Personaliser().outgoing(
        key=change.pk,
        recipient=emails.notification_recipient(row),
        render=lambda recipient: emails.change_email(change, recipient),
    )

    assert b"quoted-printable" in _django_bytes(outgoing.message())
    assert outgoing.raw is None


@pytest.mark.django_db(transaction=True)  # autocommit, as in a worker: the sent marks are pipelined on PostgreSQL
def test_each_recipient_gets_their_own_address_message_id_and_working_links_over_smtp(smtp_sink):
    rows = _notifications(*ADDRESSES, "anna@exämple.org")

    assert delivery.notification_batch_send(notification_ids=[row.pk for row in rows]) == []

    assert smtp_sink.count() == len(rows)
    # Built in full (an IDN domain): the envelope and the header carry the punycode form.
    received = smtp_sink.parsed()
    assert [str(m["To"]) for r, m in received if r == ["anna@xn--exmple-cua.org"]] == ["anna@xn--exmple-cua.org"]
    for row in rows[:-1]:
        [(rcpts, message)] = [(r, m) for r, m in received if row.subscriber.email in r]
        assert str(message["To"]) == row.subscriber.email
        assert str(message["Message-ID"]) == f"<notification-{row.pk}@tracker.example.org>"
        unsubscribe = re.fullmatch(
            r"<https://tracker\.example\.org/unsubscribe/([^/]+)/>", str(message["List-Unsubscribe"]).strip()
        )
        assert unsubscribe, message["List-Unsubscribe"]
        assert tokens.unsubscribe_token_read(unsubscribe.group(1)) == row.subscriber_id
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        manage_token = tokens.manage_token_make(row.subscriber)
        assert manage_token in text and manage_token in html
        assert unsubscribe.group(1) in text and unsubscribe.group(1) in html
        assert "x-tracker-placeholder" not in message.as_string()
    assert set(Notification.objects.filter(sent_at__isnull=False).values_list("pk", flat=True)) == {r.pk for r in rows}


def test_links_built_around_the_token_are_the_ones_reverse_gives():
    subscriber = subscriber_with("carol@example.org")

    assert emails.manage_url(subscriber) == "https://tracker.example.org" + reverse(
        "tracker-manage", args=[tokens.manage_token_make(subscriber)]
    )
    assert emails.unsubscribe_url(subscriber) == "https://tracker.example.org" + reverse(
        "tracker-unsubscribe", args=[tokens.unsubscribe_token_make(subscriber)]
    )


@pytest.mark.parametrize(
    "address",
    [
        "carol@example.org",
        "dave.o+alerts@sub.example.co.uk",
        "x@example.org",
        "a!#$%*+/=?^_`{|}~-b@example.org",
        "UPPER.Case@Example.ORG",
        "o-k@x-y.example",
        "a.b.c@e.xn--p1ai",
    ],
)
def test_addresses_taken_as_they_are_are_the_ones_django_keeps_as_they_are(address, settings):
    from django.core.mail.message import sanitize_address

    recipient = emails.Recipient(
        email=address,
        message_id="<m@example.org>",
        manage_url="https://t.example/m/x/",
        unsubscribe_url="https://t.example/u/x/",
    )

    assert emails._substitutable(recipient)
    assert sanitize_address(address, settings.DEFAULT_CHARSET) == address


@pytest.mark.parametrize(
    "address",
    [
        "a..b@example.org",
        ".a@example.org",
        "a.@example.org",
        "a b@example.org",
        '"a"@example.org',
        "a@localhost",
        "a@-x.example",
        "jörg@example.org",
        "anna@exämple.org",
        "a@b@example.org",
        "a,b@example.org",
    ],
)
def test_other_addresses_get_the_email_built_in_full(address):
    recipient = emails.Recipient(
        email=address,
        message_id="<m@example.org>",
        manage_url="https://t.example/m/x/",
        unsubscribe_url="https://t.example/u/x/",
    )

    assert not emails._substitutable(recipient)


def test_a_recipient_whose_links_would_make_a_body_line_too_long_gets_the_email_built_in_full(settings):
    # A site address so long that the footer's link lines pass 998 bytes with a
    # real token, though not with the shorter stand-in: Django would encode that
    # body, and the stand-in's rendering alone does not show it.
    [row] = _notifications("carol@example.org")
    change = selectors.changes_for_delivery({row.change_id})[row.change_id]
    tried = []
    for padding in range(200, 990, 4):
        settings.SITE_URL = "https://tracker.example.org/" + "x" * padding
        recipient = emails.notification_recipient(row)
        stand_in = _django_bytes(emails.change_email(change, emails._PLACEHOLDER))
        real = _django_bytes(emails.change_email(change, recipient))
        if b"quoted-printable" not in stand_in and b"quoted-printable" in real:
            break
        tried.append(padding)
    else:
        pytest.fail(f"no site address length separates the two renderings: {tried}")

    outgoing = emails.Personaliser().outgoing(
        key=change.pk, recipient=recipient, render=lambda r: emails.change_email(change, r)
    )

    assert outgoing.raw is None
