"""What the emails say, and the headers they carry."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail
from django.utils import timezone

from regulatory.models import ChangeKind
from regulatory.services import decision_retract, decision_update
from tests.factories import JurisdictionFactory, SourceFactory, TherapyFactory, published_decision
from tests.tracker.factories import pending_subscription, subscriber_with
from tracker import delivery, tokens
from tracker.models import Notification

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://tracker.example.org"


def _news(**kwargs):
    """A decision announced today: news, not late-reported."""
    return published_decision(**{"announced_on": timezone.now().date(), **kwargs})


def _send_for(change) -> mail.EmailMultiAlternatives:
    ids = delivery.change_fan_out(change_id=change.pk).notification_ids
    delivery.notification_batch_send(notification_ids=ids)
    assert len(mail.outbox) == 1
    return mail.outbox[0]


def _html(message) -> str:
    return next(content for content, mimetype in message.alternatives if mimetype == "text/html")


@pytest.fixture
def carol(db):
    return subscriber_with("carol@example.org")


def test_it_sends_a_new_decision_with_its_sources_and_an_absolute_link(carol):
    decision = _news(
        jurisdiction=JurisdictionFactory(code="au", name="Australia"),
        therapies=[TherapyFactory(slug="mdma-ptsd", name="MDMA-assisted therapy for PTSD")],
        title="TGA reschedules MDMA",
        status="medical_use_permitted",
    )
    source = decision.sources.get()

    message = _send_for(decision.changes.get())

    link = f"https://tracker.example.org/decisions/{decision.pk}/"
    assert message.subject == "New decision: TGA reschedules MDMA (Australia)"
    for body in (message.body, _html(message)):
        assert "New decision" in body or "NEW DECISION" in body
        assert "MDMA-assisted therapy for PTSD" in body
        assert source.url in body
        assert link in body
        assert decision.summary in body
    assert "From then: Medical use permitted (Schedule I, Controlled Substances Act)" in message.body


def test_it_carries_the_list_headers_with_absolute_https_urls(carol):
    message = _send_for(_news().changes.get())

    unsubscribe_url = f"https://tracker.example.org/unsubscribe/{tokens.unsubscribe_token_make(carol)}/"
    notification = Notification.objects.get()
    headers = message.message()
    assert headers["List-Unsubscribe"] == f"<{unsubscribe_url}>"
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert headers["Auto-Submitted"] == "auto-generated"
    assert headers["Message-ID"] == f"<notification-{notification.pk}@tracker.example.org>"
    assert notification.message_id == headers["Message-ID"]
    assert headers["List-Id"]


def test_it_links_to_the_manage_page_and_unsubscribe_in_both_bodies(carol):
    message = _send_for(_news().changes.get())

    manage = f"https://tracker.example.org/subscribe/manage/{tokens.manage_token_make(carol)}/"
    unsubscribe = f"https://tracker.example.org/unsubscribe/{tokens.unsubscribe_token_make(carol)}/"
    for body in (message.body, _html(message)):
        assert manage in body
        assert unsubscribe in body


def test_it_says_what_an_amendment_changed(carol):
    decision = _news(title="Old title")
    mail.outbox.clear()

    change = decision_update(
        decision=decision,
        data={"title": "New title"},
        change_kind=ChangeKind.CORRECT,
        note="The agency's name was wrong.",
    )
    message = _send_for(change)

    assert message.subject.startswith("Correction: New title")
    assert "Title: Old title -> New title" in message.body
    assert "The agency&#x27;s name was wrong." in _html(message)
    assert "Editor's note: The agency's name was wrong." in message.body


def test_it_says_a_retraction_is_a_retraction_with_its_reason(carol):
    decision = _news()

    message = _send_for(decision_retract(decision=decision, note="Entered for the wrong country."))

    assert message.subject.startswith("Retraction: ")
    assert "retracted" in message.body
    assert "Reason: Entered for the wrong country." in message.body


def test_it_labels_a_late_reported_decision(carol):
    decision = published_decision(announced_on=dt.date(2020, 1, 15))

    message = _send_for(decision.changes.get())

    assert "(late-reported)" in message.subject
    assert "LATE-REPORTED" in message.body
    assert "late-reported" in _html(message)


def test_it_escapes_what_editors_typed_in_the_html_body(carol):
    decision = _news(title="<script>alert(1)</script>", summary="<img src=x onerror=alert(2)>")
    SourceFactory(decision=decision, title="<b>bold</b>", publisher="A & B")

    message = _send_for(decision.changes.get())

    html = _html(message)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<img" not in html and "&lt;img" in html
    assert "<b>bold</b>" not in html and "A &amp; B" in html


def test_it_keeps_a_title_with_line_breaks_out_of_the_headers(carol):
    decision = _news(title="Approval\r\nBcc: victim@example.org")

    message = _send_for(decision.changes.get())

    rendered = message.message()
    assert rendered["Bcc"] is None
    assert "\n" not in message.subject and "\r" not in message.subject
    assert rendered["Subject"].startswith("New decision: Approval Bcc: victim@example.org")


def test_it_sends_a_confirmation_with_a_link_and_no_change_content(scripted_mail, settings):
    _news(title="Something that happened")
    subscription = pending_subscription("new@example.org")

    delivery.confirmation_send(subscription_id=subscription.pk)

    message = scripted_mail.sent[0]
    # The token carries the second it was signed: read the link from the
    # message rather than signing another (which may fall in the next second).
    links = re.findall(r"https://tracker\.example\.org/subscribe/confirm/([^/\s\"<]+)/", message.body)
    assert len(set(links)) == 1
    assert tokens.confirm_token_read(links[0]) == (subscription.subscriber_id, subscription.pk)
    link = f"https://tracker.example.org/subscribe/confirm/{links[0]}/"
    assert link in _html(message)
    assert "Something that happened" not in message.body + _html(message)
    assert message.extra_headers["Auto-Submitted"] == "auto-generated"
    subscription.refresh_from_db()
    assert subscription.confirmation_sent_at is not None


def test_it_sends_a_confirmation_once(scripted_mail):
    subscription = pending_subscription("new@example.org")

    delivery.confirmation_send(subscription_id=subscription.pk)
    delivery.confirmation_send(subscription_id=subscription.pk)

    assert len(scripted_mail.sent) == 1


def test_it_tells_the_reader_that_the_confirmation_page_needs_a_press_of_its_button(scripted_mail):
    subscription = pending_subscription("new@example.org")

    delivery.confirmation_send(subscription_id=subscription.pk)

    message = scripted_mail.sent[0]
    assert 'press "Confirm my subscription" on the page it opens' in message.body
    assert "one more press of the button confirms" in _html(message)
