"""The delivery pipeline: fan-out, claiming, sending, digests, the sweeper.

Every step follows one pattern. A row in PostgreSQL says what must be sent
(Notification, DigestDelivery, a pending Subscription's confirmation). A
worker *claims* rows with a conditional UPDATE (only rows nobody holds), sends
them over one SMTP connection outside any transaction, and records each
result at once in a short UPDATE (on PostgreSQL on a connection of its own,
without waiting for the commit to reach the disk: a killed worker loses
nothing, only a crash of the database server itself could forget the last
fraction of a second of "sent" marks, and then mail those messages again). So:

- running a batch twice sends once (the second claim finds nothing);
- a worker killed mid-batch leaves its rows claimed; its heartbeat stops,
  and within seconds the sweeper releases its claims and queues them again
  (claims taken outside a worker: after TRACKER_CLAIM_TIMEOUT). Only the
  message that was on the wire at the kill can arrive twice;
- a worker stopped (SIGSTOP) past its heartbeat loses its claims the same
  way; when it resumes it re-asserts them before its next message and skips
  every row it no longer holds;
- a live worker re-asserts its claim on the rest of its batch whenever a
  quarter of TRACKER_CLAIM_TIMEOUT has passed since it last did (restarting
  their clock), so the sweeper never releases rows of a live batch; and if a
  batch did stall past the timeout, it skips the rows the sweeper released
  to another worker instead of sending them twice;
- Redis losing every task loses no mail: the sweeper finds unsent rows and
  unfinished fan-outs in the database and queues them again, within seconds
  when no live worker is working.

Emails to many subscribers are rendered once per content and addressed per
recipient (emails.Personaliser) and go to the SMTP connection as bytes.

The rooms, one job each:

- failures: what an SMTP error means, and the countdown before a retry;
- batching: cutting ids into send batches;
- claims: taking, renewing, releasing and failing claims on rows;
- heartbeat: each worker process's row, so that a claim belongs to a live worker;
- connection: sending one batch over one SMTP connection;
- marks: recording each "sent" (pipelined on PostgreSQL);
- instant, digests, confirmations: what each kind of mail claims and sends;
- sweeper: what the broker or a dead worker lost.

Tasks (tracker/tasks.py) carry the names of the functions here that they
call, and queue what those return.
"""

from tracker.delivery.batching import batches
from tracker.delivery.claims import subscriber_suppress
from tracker.delivery.confirmations import confirmation_send
from tracker.delivery.digests import digest_batch_send, digest_outcome, digest_plan
from tracker.delivery.failures import (
    CONNECTION_PERMANENT,
    CONNECTION_TRANSIENT,
    MAX_RETRY_COUNTDOWN,
    MESSAGE_PERMANENT,
    MESSAGE_TRANSIENT,
    RECIPIENT_PERMANENT,
    SendFailure,
    retry_countdown,
    smtp_failure,
)
from tracker.delivery.instant import FanOutStep, change_fan_out, notification_batch_send, notifications_write
from tracker.delivery.sweeper import SweepPlan, stalled_heal, stalled_sweep

# The name confirmation_send had before the package: still imported by
# tests/tracker/test_subscribe.py, which is being reworked elsewhere.
confirmation_deliver = confirmation_send

__all__ = [
    "CONNECTION_PERMANENT",
    "CONNECTION_TRANSIENT",
    "MAX_RETRY_COUNTDOWN",
    "MESSAGE_PERMANENT",
    "MESSAGE_TRANSIENT",
    "RECIPIENT_PERMANENT",
    "FanOutStep",
    "SendFailure",
    "SweepPlan",
    "batches",
    "change_fan_out",
    "confirmation_deliver",
    "confirmation_send",
    "digest_batch_send",
    "digest_outcome",
    "digest_plan",
    "notification_batch_send",
    "notifications_write",
    "retry_countdown",
    "smtp_failure",
    "stalled_heal",
    "stalled_sweep",
    "subscriber_suppress",
]
