"""Writes for subscribers: subscribe (double opt-in), confirm, manage,
unsubscribe, import an existing list, and the rate limits in front of them.

The delivery pipeline (fan-out, sending, digests, sweeper) is in
tracker/delivery/.
"""

# isort: off
# In the order of the single module they came from.
from tracker.services.limits import (
    RATE_WINDOW_SECONDS,
    CACHE_UNAVAILABLE,
    OUTAGE_SECONDS,
    cache_outage,
    broker_outage,
    rate_limit_hit,
    address_rate_limit_hit,
    client_address,
)
from tracker.services.validation import (
    Scope,
    email_validate,
    scope_validate,
)
from tracker.services.subscribing import (
    subscription_request,
    subscription_confirm,
)
from tracker.services.managing import (
    subscription_add,
    subscription_update,
    subscription_remove,
    subscriber_unsubscribe,
)
from tracker.services.importing import (
    IMPORT_COLUMNS,
    ImportReport,
    subscribers_csv_rows,
    subscribers_import,
)
# isort: on

__all__ = [
    "RATE_WINDOW_SECONDS",
    "CACHE_UNAVAILABLE",
    "OUTAGE_SECONDS",
    "cache_outage",
    "broker_outage",
    "rate_limit_hit",
    "address_rate_limit_hit",
    "client_address",
    "Scope",
    "email_validate",
    "scope_validate",
    "subscription_request",
    "subscription_confirm",
    "subscription_add",
    "subscription_update",
    "subscription_remove",
    "subscriber_unsubscribe",
    "IMPORT_COLUMNS",
    "ImportReport",
    "subscribers_csv_rows",
    "subscribers_import",
]
