"""Reads for delivery: which subscribers a change concerns, what a digest
holds, how a change reads in an email, and the admin's delivery counts.

"Matching" has one rule, applied in SQL by the fan-out (over many
subscribers, one change) and in Python by the digest builder (over a chunk of
subscribers and many changes); tests check that both agree:

    a change matches a subscription when
      - the decision's jurisdiction, or that jurisdiction's parent (de -> eu),
        is among the subscription's jurisdictions,
      - any of the decision's therapies is among its therapies,
      - the decision's kind is among its kinds,
    each empty = all, and the change was recorded after the subscription
    started (`starts_after_change_id`) and is not a dataset import.

An amendment that moved a decision out of someone's scope still reaches them:
the values before the edit (from the Change's diff) count too.
"""

# isort: off
# In the order of the single module they came from.
from tracker.selectors.matching import (
    ChangeScope,
    SubscriptionScope,
    change_latest_id,
    change_scopes,
    changes_for_delivery,
    subscriptions_matching,
    fan_out_subscriber_ids,
    digest_subscriber_ids,
    digest_build,
    change_ids_matching,
    changes_not_fanned_out_to,
    subscription_scopes_of,
    subscription_scope,
)
from tracker.selectors.emails import (
    CHANGE_KIND_LABELS,
    change_diff_lines,
    DigestGroup,
    digest_groups,
)
from tracker.selectors.overview import (
    change_delivery_overview,
    scope_choices,
    subscription_scope_text,
    subscriber_subscriptions,
    digest_period,
    subscription_for_confirm_link,
)
from tracker.selectors.transitions import (
    CellTransition,
    change_cell_transitions,
    digests_sent_before,
    digest_period_display,
)
# isort: on

__all__ = [
    "ChangeScope",
    "SubscriptionScope",
    "change_latest_id",
    "change_scopes",
    "changes_for_delivery",
    "subscriptions_matching",
    "fan_out_subscriber_ids",
    "digest_subscriber_ids",
    "digest_build",
    "change_ids_matching",
    "changes_not_fanned_out_to",
    "subscription_scopes_of",
    "subscription_scope",
    "CHANGE_KIND_LABELS",
    "change_diff_lines",
    "DigestGroup",
    "digest_groups",
    "change_delivery_overview",
    "scope_choices",
    "subscription_scope_text",
    "subscriber_subscriptions",
    "digest_period",
    "subscription_for_confirm_link",
    "CellTransition",
    "change_cell_transitions",
    "digests_sent_before",
    "digest_period_display",
]
