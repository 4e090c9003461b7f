"""Sending instant notifications: claims, results, failures, retries."""

from __future__ import annotations

import datetime as dt
import smtplib
from collections import Counter

import pytest
import time_machine
from celery.exceptions import Retry, SoftTimeLimitExceeded
from django.core import mail
from django.utils import timezone

from tests.factories import published_decision
from tests.tracker.factories import pending_subscription, subscriber_with
from tracker import delivery, services, tasks
from tracker.delivery import claims
from tracker.models import Notification, Subscriber, Subscription
from tracker.tasks import notification_batch_send

pytestmark = pytest.mark.django_db


def _notify(*emails: str) -> list[int]:
    for address in emails:
        subscriber_with(address)
    change = published_decision().changes.get()
    step = delivery.change_fan_out(change_id=change.pk)
    return step.notification_ids


def test_it_sends_a_claimed_batch_and_records_each_result():
    ids = _notify("carol@example.org", "dave@example.org")

    retry = delivery.notification_batch_send(notification_ids=ids)

    assert retry == []
    assert sorted(m.to[0] for m in mail.outbox) == ["carol@example.org", "dave@example.org"]
    for notification in Notification.objects.all():
        assert notification.sent_at is not None
        assert notification.attempts == 1
        assert notification.message_id == f"<notification-{notification.pk}@127.0.0.1>"


def test_it_sends_once_when_the_same_batch_runs_twice():
    ids = _notify("carol@example.org")

    delivery.notification_batch_send(notification_ids=ids)
    delivery.notification_batch_send(notification_ids=ids)

    assert len(mail.outbox) == 1


def test_it_does_not_send_rows_another_worker_has_claimed():
    ids = _notify("carol@example.org")
    token, rows = claims.claim(Notification, ids)

    delivery.notification_batch_send(notification_ids=ids)

    assert len(rows) == 1
    assert mail.outbox == []
    assert Notification.objects.get().claim_token == token


def test_it_uses_one_connection_per_batch(scripted_mail):
    ids = _notify("a@example.org", "b@example.org", "c@example.org")

    delivery.notification_batch_send(notification_ids=ids)

    assert scripted_mail.opened == 1
    assert len(scripted_mail.sent) == 3


def test_it_releases_a_451_for_a_retry_and_sends_the_rest(scripted_mail):
    ids = _notify("busy@example.org", "fine@example.org")
    scripted_mail.failures["busy@example.org"] = [
        smtplib.SMTPRecipientsRefused({"busy@example.org": (451, b"4.3.0 try later")})
    ]

    retry = delivery.notification_batch_send(notification_ids=ids)

    busy = Notification.objects.get(subscriber__email="busy@example.org")
    assert retry == [busy.pk]
    assert busy.claimed_at is None and busy.sent_at is None and busy.failed_at is None
    assert "451" in busy.last_error
    assert [m.to[0] for m in scripted_mail.sent] == ["fine@example.org"]


def test_it_sends_a_released_row_on_the_retry(scripted_mail):
    ids = _notify("busy@example.org")
    scripted_mail.failures["busy@example.org"] = [
        smtplib.SMTPRecipientsRefused({"busy@example.org": (451, b"4.3.0 try later")})
    ]
    retry = delivery.notification_batch_send(notification_ids=ids)

    delivery.notification_batch_send(notification_ids=retry)

    notification = Notification.objects.get()
    assert notification.sent_at is not None
    assert notification.attempts == 2
    assert len(scripted_mail.sent) == 1


def test_it_records_a_5xx_recipient_and_stops_mail_to_that_address(scripted_mail):
    ids = _notify("gone@example.org")
    scripted_mail.failures["gone@example.org"] = [
        smtplib.SMTPRecipientsRefused({"gone@example.org": (550, b"5.1.1 no such user")})
    ]

    retry = delivery.notification_batch_send(notification_ids=ids)

    notification = Notification.objects.get()
    subscriber = Subscriber.objects.get()
    assert retry == []
    assert notification.failed_at is not None
    assert "550" in notification.last_error
    assert subscriber.suppressed_at is not None and "550" in subscriber.suppressed_reason
    assert not Subscriber.objects.active().exists()


def test_it_cancels_rows_of_a_subscriber_who_left_before_the_send(scripted_mail):
    ids = _notify("carol@example.org")
    services.subscriber_unsubscribe(subscriber=Subscriber.objects.get())

    delivery.notification_batch_send(notification_ids=ids)

    assert scripted_mail.sent == []
    assert Notification.objects.get().cancelled_at is not None


def test_it_retries_the_whole_rest_of_the_batch_after_a_disconnect(scripted_mail):
    ids = _notify("a@example.org", "b@example.org", "c@example.org")
    scripted_mail.failures["b@example.org"] = [smtplib.SMTPServerDisconnected("Connection unexpectedly closed")]

    retry = delivery.notification_batch_send(notification_ids=ids)

    sent = Notification.objects.filter(sent_at__isnull=False).values_list("subscriber__email", flat=True)
    assert list(sent) == ["a@example.org"]
    assert sorted(retry) == sorted(Notification.objects.filter(sent_at__isnull=True).values_list("pk", flat=True))
    assert Notification.objects.filter(claimed_at__isnull=False, sent_at__isnull=True).count() == 0


def test_it_retries_the_batch_when_the_server_cannot_be_reached(scripted_mail):
    ids = _notify("a@example.org", "b@example.org")
    scripted_mail.open_failures.append(ConnectionRefusedError(111, "Connection refused"))

    retry = delivery.notification_batch_send(notification_ids=ids)

    assert sorted(retry) == sorted(ids)
    assert all("ConnectionRefusedError" in n.last_error for n in Notification.objects.all())


def test_it_fails_a_message_the_server_rejects_with_5xx_on_data(scripted_mail):
    ids = _notify("carol@example.org")
    scripted_mail.failures["carol@example.org"] = [smtplib.SMTPDataError(554, b"5.7.1 message refused")]

    retry = delivery.notification_batch_send(notification_ids=ids)

    assert retry == []
    assert Notification.objects.get().failed_at is not None
    assert Subscriber.objects.get().suppressed_at is None  # the address itself was not refused


def test_it_gives_up_after_the_maximum_number_of_attempts(scripted_mail, settings):
    settings.TRACKER_MAX_ATTEMPTS = 2
    ids = _notify("busy@example.org")
    refusal = smtplib.SMTPRecipientsRefused({"busy@example.org": (451, b"later")})
    scripted_mail.failures["busy@example.org"] = [refusal, refusal, refusal]

    retry = delivery.notification_batch_send(notification_ids=ids)
    retry_again = delivery.notification_batch_send(notification_ids=retry)

    notification = Notification.objects.get()
    assert retry_again == []
    assert notification.failed_at is not None and notification.attempts == 2


def test_it_skips_rows_the_sweeper_released_while_a_slow_batch_was_running(scripted_mail):
    with time_machine.travel(dt.datetime(2025, 3, 3, 9, tzinfo=dt.UTC), tick=False) as clock:
        ids = _notify("a@example.org", "b@example.org", "c@example.org")

        def slow_server() -> None:
            clock.shift(500)

        def sweeper_then_second_worker() -> None:
            # 1000 s after the claim, more than TRACKER_CLAIM_TIMEOUT: the sweeper
            # releases what this batch has not sent yet, and another worker sends it.
            clock.shift(500)
            plan = delivery.stalled_sweep(stale_after=0, claim_timeout=900)
            for batch in plan.notification_batches:
                delivery.notification_batch_send(notification_ids=batch)

        scripted_mail.during_send = {"a@example.org": slow_server, "b@example.org": sweeper_then_second_worker}

        delivery.notification_batch_send(notification_ids=ids)

    assert Counter(m.to[0] for m in scripted_mail.sent) == {
        "a@example.org": 1,
        "b@example.org": 1,
        "c@example.org": 1,
    }
    assert not Notification.objects.filter(sent_at__isnull=True).exists()


def test_a_batch_that_stalled_past_its_claim_skips_what_another_worker_took_over(scripted_mail):
    with time_machine.travel(dt.datetime(2025, 3, 3, 9, tzinfo=dt.UTC), tick=False) as clock:
        ids = _notify("a@example.org", "b@example.org", "c@example.org")

        def stall_then_sweeper_and_second_worker() -> None:
            # The server hangs past TRACKER_CLAIM_TIMEOUT (900 s): the sweeper
            # releases every unsent row of the batch and another worker sends them.
            clock.shift(1000)
            plan = delivery.stalled_sweep(stale_after=0, claim_timeout=900)
            for batch in plan.notification_batches:
                delivery.notification_batch_send(notification_ids=batch)

        scripted_mail.during_send = {"a@example.org": stall_then_sweeper_and_second_worker}

        delivery.notification_batch_send(notification_ids=ids)

    # Only the message on the wire during the stall went twice: renewing its
    # claims before the next message, the batch found b and c taken over.
    assert Counter(m.to[0] for m in scripted_mail.sent) == {
        "a@example.org": 2,
        "b@example.org": 1,
        "c@example.org": 1,
    }
    assert not Notification.objects.filter(sent_at__isnull=True).exists()


def test_a_long_batch_renews_its_claims_so_the_sweeper_leaves_them_alone(scripted_mail):
    with time_machine.travel(dt.datetime(2025, 3, 3, 9, tzinfo=dt.UTC), tick=False) as clock:
        addresses = [f"r{i}@example.org" for i in range(6)]
        ids = _notify(*addresses)

        def slow(address: str) -> None:
            clock.shift(200)  # 6 x 200 s: the batch outlives the 900 s claim timeout
            assert delivery.stalled_sweep(stale_after=10_000, claim_timeout=900).claims_released == 0, address

        scripted_mail.during_send = {address: (lambda a=address: slow(a)) for address in addresses}

        assert delivery.notification_batch_send(notification_ids=ids) == []

    assert Counter(m.to[0] for m in scripted_mail.sent) == dict.fromkeys(addresses, 1)


def test_it_does_not_catch_unexpected_errors(scripted_mail):
    ids = _notify("carol@example.org")
    scripted_mail.failures["carol@example.org"] = [RuntimeError("a bug")]

    with pytest.raises(RuntimeError):
        delivery.notification_batch_send(notification_ids=ids)

    # Left claimed: the sweeper releases it after TRACKER_CLAIM_TIMEOUT.
    assert Notification.objects.get().claimed_at is not None


def test_a_batch_cut_short_by_its_time_limit_gives_back_what_it_has_not_sent(scripted_mail):
    ids = _notify("a@example.org", "b@example.org", "c@example.org")

    def time_limit() -> None:
        raise SoftTimeLimitExceeded()

    scripted_mail.during_send = {"b@example.org": time_limit}

    with pytest.raises(SoftTimeLimitExceeded):
        delivery.notification_batch_send(notification_ids=ids)

    rows = {n.subscriber.email: n for n in Notification.objects.select_related("subscriber")}
    assert [m.to[0] for m in scripted_mail.sent] == ["a@example.org"]
    assert rows["a@example.org"].sent_at is not None
    for address in ("b@example.org", "c@example.org"):  # released at once, for the sweeper
        assert rows[address].claimed_at is None and rows[address].sent_at is None, address
        assert "time limit" in rows[address].last_error


def test_a_batch_queued_under_the_tasks_old_name_is_still_sent():
    ids = _notify("carol@example.org")

    tasks.notification_send_batch.apply(args=[ids])

    assert tasks.notification_send_batch.name == "tracker.tasks.notification_send_batch"
    assert [m.to for m in mail.outbox] == [["carol@example.org"]]
    assert Notification.objects.get().sent_at is not None


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (smtplib.SMTPRecipientsRefused({"a@x": (550, b"no")}), delivery.RECIPIENT_PERMANENT),
        (smtplib.SMTPRecipientsRefused({"a@x": (452, b"full")}), delivery.MESSAGE_TRANSIENT),
        (smtplib.SMTPDataError(451, b"later"), delivery.MESSAGE_TRANSIENT),
        (smtplib.SMTPDataError(554, b"spam"), delivery.MESSAGE_PERMANENT),
        (smtplib.SMTPDataError(421, b"closing"), delivery.CONNECTION_TRANSIENT),
        (smtplib.SMTPSenderRefused(451, b"later", "from@x"), delivery.CONNECTION_TRANSIENT),
        (smtplib.SMTPAuthenticationError(535, b"bad credentials"), delivery.CONNECTION_PERMANENT),
        (smtplib.SMTPServerDisconnected("gone"), delivery.CONNECTION_TRANSIENT),
        (TimeoutError("timed out"), delivery.CONNECTION_TRANSIENT),
        (ConnectionResetError(104, "reset"), delivery.CONNECTION_TRANSIENT),
    ],
)
def test_it_classifies_smtp_failures(exc, kind):
    assert delivery.smtp_failure(exc).kind == kind


def _run_task(ids: list[int], *, retries: int) -> None:
    notification_batch_send.push_request(retries=retries, id="task-1", called_directly=False)
    try:
        notification_batch_send.run(ids)
    finally:
        notification_batch_send.pop_request()


def test_it_retries_transient_failures_in_the_task(scripted_mail, queued):
    ids = _notify("busy@example.org")
    scripted_mail.failures["busy@example.org"] = [smtplib.SMTPRecipientsRefused({"busy@example.org": (451, b"later")})]

    with pytest.raises(Retry):
        _run_task(ids, retries=0)

    assert queued == [("tracker.tasks.notification_batch_send", (ids,))]


def test_it_leaves_rows_for_the_sweeper_after_the_last_retry(scripted_mail, queued, settings):
    ids = _notify("busy@example.org")
    scripted_mail.failures["busy@example.org"] = [smtplib.SMTPRecipientsRefused({"busy@example.org": (451, b"later")})]

    _run_task(ids, retries=notification_batch_send.max_retries)

    notification = Notification.objects.get()
    assert queued == []
    assert notification.sent_at is None and notification.failed_at is None and notification.claimed_at is None


def test_it_keeps_retry_countdowns_short():
    countdowns = [delivery.retry_countdown(n) for n in range(12)]

    assert countdowns[0] < countdowns[3]
    assert max(countdowns) <= delivery.MAX_RETRY_COUNTDOWN + 10


# --- Confirmation links ------------------------------------------------------------


def _sweep_later() -> delivery.SweepPlan:
    return delivery.stalled_sweep(stale_after=600, claim_timeout=900, now=timezone.now() + dt.timedelta(hours=1))


@pytest.mark.parametrize("where", ["login", "sender"])
def test_it_keeps_a_pending_subscription_for_the_sweeper_when_our_smtp_side_is_refused(scripted_mail, where):
    subscription = pending_subscription("new@example.org")
    if where == "login":
        scripted_mail.open_failures.append(smtplib.SMTPAuthenticationError(535, b"5.7.8 bad credentials"))
    else:
        scripted_mail.failures["new@example.org"] = [
            smtplib.SMTPSenderRefused(553, b"5.7.1 sender not allowed", "alerts@localhost")
        ]

    retry = delivery.confirmation_send(subscription_id=subscription.pk)

    subscription.refresh_from_db()
    assert retry is False
    assert subscription.confirmation_sent_at is None and subscription.confirmation_claimed_at is None
    assert Subscriber.objects.get().suppressed_at is None
    assert _sweep_later().confirmation_ids == [subscription.pk]


def test_it_sends_a_kept_confirmation_once_the_smtp_service_is_fixed(scripted_mail):
    subscription = pending_subscription("new@example.org")
    scripted_mail.open_failures.append(smtplib.SMTPAuthenticationError(535, b"5.7.8 bad credentials"))
    delivery.confirmation_send(subscription_id=subscription.pk)

    for subscription_id in _sweep_later().confirmation_ids:
        delivery.confirmation_send(subscription_id=subscription_id)

    assert [m.to for m in scripted_mail.sent] == [["new@example.org"]]


def test_it_forgets_a_pending_subscription_whose_address_is_refused_for_good(scripted_mail):
    subscription = pending_subscription("gone@example.org")
    scripted_mail.failures["gone@example.org"] = [
        smtplib.SMTPRecipientsRefused({"gone@example.org": (550, b"5.1.1 no such user")})
    ]

    delivery.confirmation_send(subscription_id=subscription.pk)

    assert not Subscription.objects.filter(pk=subscription.pk).exists()
    assert Subscriber.objects.get().suppressed_at is not None
